package io.github.jconv.tools.bench;

import io.github.jconv.ConvSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench's problem selection: --problems, --batch, --match, --mb. */
class ProblemSelectionTest {
    private static List<String> names(List<BenchProblem> ps) {
        return ps.stream().map(BenchProblem::name).toList();
    }

    @Test
    void withoutProblemsOrBatchItIsTheBenchmarkSetInTableOrder() {
        List<BenchProblem> ps = ProblemSelection.select(null, List.of(), null, null);
        assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "D1"), names(ps));
        assertTrue(ps.stream().allMatch(BenchProblem::isStandard));
        // P6 as docs/bench-problems.md's table gives it: transposed 4x4, stride 2, padding 1, 64 -> 32 channels, 28x28, batch 8
        assertEquals(ConvSpec.transposed().batch(8).channels(64, 32).input(28, 28).kernel(4).stride(2).padding(1).bias(false).build(),
                ps.get(5).spec());
    }

    @Test
    void aBatchFileGivesItsLinesNamedOrByTheirLineAndReplacesTheDefault(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("mine.txt"), "# my layers\nmb1ic2ih6oc3kh3ph1 small\nmb1ic4ih6oc4kh1\n");
        List<BenchProblem> ps = ProblemSelection.select(null, List.of(f.toString()), null, null);
        assertEquals(List.of("small", ConvSpec.parse("mb1ic4ih6oc4kh1").toString()), names(ps));
        assertEquals(ConvSpec.parse("mb1ic2ih6oc3kh3ph1"), ps.get(0).spec());
        // with --problems too: those first, then the file's
        assertEquals(List.of("P3", "small"), names(ProblemSelection.select("P3", List.of(f.toString()), "small|P3", null)));
    }

    @Test
    void aBatchNameThatIsNoFileIsACatalogueOfTheKit() {
        List<BenchProblem> corners = ProblemSelection.select(null, List.of("corners"), null, null);
        assertTrue(corners.size() > 10, "the corners catalogue: " + corners.size());
        List<BenchProblem> bench = ProblemSelection.select(null, List.of("benchmark"), null, null);
        assertEquals(names(ProblemSelection.select(null, List.of(), null, null)), names(bench));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProblemSelection.select(null, List.of("no-such-thing"), null, null));
        assertTrue(e.getMessage().startsWith("batch = no-such-thing: no such file, nor a catalogue") && e.getMessage().contains("resnet50"),
                e.getMessage());
    }

    @Test
    void aBadLineInABatchFileNamesTheFileAndTheLine(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("bad.txt"), "mb1ic2ih6oc3kh3\nmb1ic2ih6oc3kh9\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProblemSelection.select(null, List.of(f.toString()), null, null));
        assertTrue(e.getMessage().startsWith(f + ":2: "), e.getMessage());
        Path empty = Files.writeString(dir.resolve("empty.txt"), "# nothing\n");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> ProblemSelection.select(null, List.of(empty.toString()), null, null));
        assertTrue(none.getMessage().startsWith("batch = " + empty + ": holds no problem line"), none.getMessage());
    }

    @Test
    void matchKeepsTheProblemsWhoseNameOrLineItFinds() {
        assertEquals(List.of("P1", "P2", "P3", "P4"), names(ProblemSelection.select(null, List.of(), "P[1-4]", null)));
        // by line: only D1 is deformable (dg), only P6 transposed (tr), only P7 has a depth axis (id16)
        assertEquals(List.of("D1"), names(ProblemSelection.select(null, List.of(), "^dg", null)));
        assertEquals(List.of("P6"), names(ProblemSelection.select(null, List.of(), "tr1", null)));
        assertEquals(List.of("P7"), names(ProblemSelection.select(null, List.of(), "id16", null)));
    }

    @Test
    void aBadOrFruitlessMatchIsRefusedNamingIt() {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ProblemSelection.select(null, List.of(), "P[1", null));
        assertTrue(bad.getMessage().startsWith("match = P[1: not a regular expression"), bad.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> ProblemSelection.select("P1,P2", List.of(), "Q9", null));
        assertTrue(none.getMessage().startsWith("match = Q9: matches no name or line of the 2 problems chosen (P1, P2)"), none.getMessage());
    }

    @Test
    void mbSetsEveryBatchKeepsTheNamesAndTakesThemOffThePeersList() {
        List<BenchProblem> ps = ProblemSelection.select("P1,P7", List.of(), null, 1);
        assertEquals(List.of("P1", "P7"), names(ps));
        assertEquals(ConvSpec.parse("mb1ic64ih56iw56oc64kh3kw3ph1pw1bia0"), ps.get(0).spec());
        assertEquals(ConvSpec.parse("mb1ic32id16ih56iw56oc32kd3kh3kw3pd1ph1pw1bia0"), ps.get(1).spec());
        assertFalse(ps.get(0).isStandard(), "the peer knows P1 at batch 8 only");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProblemSelection.select("P1", List.of(), null, 0));
        assertTrue(e.getMessage().startsWith("mb = 0: must be 1 to 65536"), e.getMessage());
    }

    @Test
    void oneNameForTwoProblemsIsRefusedAndARepeatIsDropped() {
        assertEquals(List.of("P1"), names(ProblemSelection.select("P1,P1", List.of(), null, null)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProblemSelection.select("a=mb1ic2ih6oc3kh3,a=mb1ic2ih6oc3kh1", List.of(), null, null));
        assertTrue(e.getMessage().startsWith("problem name a is given to two problems"), e.getMessage());
    }
}
