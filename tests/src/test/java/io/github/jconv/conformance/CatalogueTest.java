package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CatalogueTest {
    static Stream<Problem> everyProblem() {
        return Catalogue.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyProblem")
    void everyCatalogueLineReadsBackFromItsCanonicalForm(Problem p) {
        assertEquals(p.spec(), ConvSpec.parse(p.line()), p.source() + ": " + p.label());
        assertEquals(p.line(), ConvSpec.parse(p.line()).toString(), p.source());
    }

    @Test
    void everyCatalogueFileHasProblemsAndNoProblemRepeatsWithinAFile() {
        for (String f : Catalogue.FILES) {
            List<Problem> ps = Catalogue.load(f);
            assertFalse(ps.isEmpty(), f + " is empty");
            Set<String> seen = new HashSet<>();
            for (Problem p : ps) assertTrue(seen.add(p.line() + p.offsets()), f + " repeats " + p.label() + " at " + p.source());
        }
    }

    @Test
    void theCornersCoverEveryOptionTheIssueLists() {
        List<Problem> c = Catalogue.load("corners");
        assertTrue(c.stream().anyMatch(p -> p.spec().rank() == 1), "1D");
        assertTrue(c.stream().anyMatch(p -> p.spec().rank() == 3), "3D");
        assertTrue(c.stream().anyMatch(p -> p.spec().rank() == 3 && p.spec().type() == ConvType.TRANSPOSED), "3D transposed");
        assertTrue(c.stream().anyMatch(p -> p.spec().batch() == 1), "batch 1");
        assertTrue(c.stream().anyMatch(p -> !p.spec().bias()), "no bias");
        assertTrue(c.stream().anyMatch(p -> p.spec().depthwise()), "depthwise");
        assertTrue(c.stream().anyMatch(p -> p.spec().kernelVolume() == 1), "1x1");
        assertTrue(c.stream().anyMatch(p -> p.spec().type() == ConvType.TRANSPOSED && p.spec().groups() > 1), "groups with transposed");
        assertTrue(c.stream().anyMatch(p -> p.spec().stride(0) > p.spec().kernel(0)), "stride > kernel");
        assertTrue(c.stream().anyMatch(p -> p.spec().stride(0) > 1 && p.spec().dilation(0) > 1), "dilation with stride");
        assertTrue(c.stream().anyMatch(p -> p.spec().paddingLo(0) != p.spec().paddingHi(0)), "asymmetric padding");
        assertTrue(c.stream().anyMatch(p -> p.spec().input(p.spec().rank() - 1) % 2 == 1), "odd sizes");
        assertTrue(c.stream().anyMatch(p -> p.spec().type() == ConvType.TRANSPOSED && p.spec().outputPadding(0) > 0), "output_padding");
        assertTrue(c.stream().anyMatch(p -> p.offsets() == Offsets.FAR), "offsets far beyond the border");
        assertTrue(c.stream().anyMatch(p -> p.offsets() == Offsets.ZERO), "zero offsets");
        assertTrue(c.stream().anyMatch(p -> p.spec().type() == ConvType.DEFORMABLE && p.spec().offsetGroups() > 1), "offset groups > 1");
        assertTrue(c.stream().anyMatch(p -> p.spec().type() == ConvType.DEFORMABLE && p.spec().modulated()), "v2");
        assertTrue(c.stream().anyMatch(p -> p.spec().type() == ConvType.DEFORMABLE && !p.spec().modulated()), "v1");
    }

    @Test
    void theBenchmarkFileHoldsP1ToP8AndD1() {
        List<String> names = Catalogue.load("bench").stream().map(p -> p.name().split("-")[0]).toList();
        assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "D1"), names);
        Problem p1 = Catalogue.load("bench").get(0);
        assertEquals(ConvSpec.parse("mb1ic64ih56oc64kh3ph1"), p1.spec());
    }

    @Test
    void theBenchmarkSetIsP1ToP8AndD1AtFullSizeWithoutBiasAndTheBenchFileIsItAtBatch1() {
        List<Problem> full = Catalogue.benchmark();
        assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "D1"), full.stream().map(Problem::name).toList());
        assertTrue(full.stream().noneMatch(p -> p.spec().bias()), "the peer times its convolutions without bias");
        assertFalse(Catalogue.FILES.contains(Catalogue.BENCHMARK), "the suite does not run the full sizes");
        assertTrue(Catalogue.names().contains(Catalogue.BENCHMARK));
        // the two files were written separately; the conformance one is the benchmark at batch 1 with a bias
        List<Problem> small = Catalogue.load("bench");
        for (int i = 0; i < full.size(); i++) {
            ConvSpec scaled = full.get(i).spec().toBuilder().batch(1).bias(true).build();
            assertEquals(scaled, small.get(i).spec(), full.get(i).name() + " vs " + small.get(i).source());
        }
        // P1 as docs/bench-problems.md's table gives it: batch 8, 64 -> 64 channels, 56x56, 3x3, padding 1, no bias
        assertEquals(ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).bias(false).build(),
                full.get(0).spec());
    }

    @Test
    void theBenchmarkLinesAreTheOnesOfTheDocsTable() throws java.io.IOException {
        java.nio.file.Path doc = java.nio.file.Path.of("..", "docs", "bench-problems.md");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(doc), "run from the tests module of a checkout");
        java.util.Map<String, String> table = new java.util.LinkedHashMap<>();
        for (String row : java.nio.file.Files.readAllLines(doc)) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\| (P\\d|D1) \\|.*`([a-z0-9]+)` \\|$").matcher(row);
            if (m.find()) table.put(m.group(1), m.group(2));
        }
        java.util.Map<String, String> kit = new java.util.LinkedHashMap<>();
        for (Problem p : Catalogue.benchmark()) kit.put(p.name(), p.line());
        assertEquals(9, table.size(), "rows of the table: " + table);
        table.replaceAll((name, line) -> ConvSpec.parse(line).toString());
        assertEquals(table, kit);
    }

    @Test
    void aProblemFileIsReadWithItsNameInMessages(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Path f = java.nio.file.Files.writeString(dir.resolve("mine.txt"), "# two layers\nmb1ic2ih5oc2kh3 a\n\nmb1ic2ih5oc2kh3sh2 b\n");
        List<Problem> ps = Catalogue.read(f);
        assertEquals(List.of("a", "b"), ps.stream().map(Problem::name).toList());
        assertEquals(f + ":4", ps.get(1).source());
        java.nio.file.Path bad = java.nio.file.Files.writeString(dir.resolve("bad.txt"), "mb1ic2ih5oc2kh3\nmb1ic0ih5\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Catalogue.read(bad));
        assertTrue(e.getMessage().startsWith(bad + ":2: "), e.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> Catalogue.read(dir.resolve("none.txt")));
        assertTrue(missing.getMessage().startsWith("file = " + dir.resolve("none.txt") + ": cannot be read"), missing.getMessage());
    }

    @Test
    void optionsAndNamesAreRead() {
        List<Problem> ps = Catalogue.parse("inline", """
                # a comment line
                dg1mb1ic2ih5oc2kh3ph1   far-one  offsets=far   # trailing comment
                mb1ic2ih5oc2kh3  passes=forward
                """);
        assertEquals(2, ps.size());
        assertEquals("far-one", ps.get(0).name());
        assertEquals(Offsets.FAR, ps.get(0).offsets());
        assertEquals("inline:2", ps.get(0).source());
        assertTrue(ps.get(1).forwardOnly());
        assertEquals("", ps.get(1).name());
    }

    @Test
    void aBadCatalogueLineNamesItsFileAndLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Catalogue.parse("mine", "mb1ic2ih5oc2kh3\nmb1ic2ih5oc2kh9\n"));
        assertTrue(e.getMessage().startsWith("mine:2: kernel"), e.getMessage());
        IllegalArgumentException opt = assertThrows(IllegalArgumentException.class,
                () -> Catalogue.parse("mine", "mb1ic2ih5oc2kh3 offsets=far\n"));
        assertTrue(opt.getMessage().contains("offsets = FAR") && opt.getMessage().contains("mine:1"), opt.getMessage());
        IllegalArgumentException key = assertThrows(IllegalArgumentException.class,
                () -> Catalogue.parse("mine", "mb1ic2ih5oc2kh3 speed=fast\n"));
        assertTrue(key.getMessage().contains("unknown option 'speed'"), key.getMessage());
    }

    @Test
    void fuzzProblemsAreValidRepeatableAndCoverEveryFamily() {
        List<Problem> a = Catalogue.fuzz(Catalogue.FUZZ_SEED, 40);
        assertEquals(40, a.size());
        assertEquals(a, Catalogue.fuzz(Catalogue.FUZZ_SEED, 40));
        for (ConvType t : ConvType.values()) assertTrue(a.stream().anyMatch(p -> p.spec().type() == t), t.toString());
        for (int rank = 1; rank <= 3; rank++) {
            int r = rank;
            assertTrue(a.stream().anyMatch(p -> p.spec().rank() == r), "rank " + r);
        }
        for (Problem p : a) assertEquals(p.spec(), ConvSpec.parse(p.line()), p.source());
    }
}
