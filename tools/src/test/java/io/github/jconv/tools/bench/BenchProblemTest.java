package io.github.jconv.tools.bench;

import io.github.jconv.ConvType;
import io.github.jconv.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchProblemTest {
    /**
     * 2·N·K·(output spatial)·(C/g)·(kernel volume), transposed 2·N·C_in·(input spatial)·(C_out/g)·(kernel volume),
     * worked out by hand from the table of PROBLEMS.md.
     */
    @ParameterizedTest(name = "{0} forward = {1} FLOPs")
    @CsvSource({
            "P1, 1849688064",  // 2*8*64*(56*56)*64*9
            "P2, 1849688064",  // 2*8*128*(28*28)*128*9
            "P3, 205520896",   // 2*8*256*(14*14)*256*1
            "P4, 28901376",    // 2*8*256*(28*28)*1*9
            "P5, 1849688064",  // 2*8*64*(56*56)*64*9: padding 2 keeps 56 with dilation 2
            "P6, 411041792",   // 2*8*64*(28*28)*32*16
            "P7, 5549064192",  // 2*2*32*(16*56*56)*32*27
            "P8, 231211008",   // 2*8*128*(28*28)*16*9
            "D1, 1849688064"}) // as P2
    void standardProblemsCountFlopsAsProblemsMdSays(String name, long flops) {
        BenchProblem p = BenchProblem.parseList(name).get(0);
        assertEquals(flops, BenchPass.FWD.flops(p.spec().forwardFlops()));
        assertEquals(3 * flops, BenchPass.FWD_BWD.flops(p.spec().forwardFlops()));
    }

    @ParameterizedTest(name = "{0} has output {1}")
    @CsvSource({
            "P1, 8 64 56 56", "P2, 8 128 28 28", "P3, 8 256 14 14", "P4, 8 256 28 28", "P5, 8 64 56 56",
            "P6, 8 32 56 56", "P7, 2 32 16 56 56", "P8, 8 128 28 28", "D1, 8 128 28 28"})
    void standardProblemsHaveTheOutputShapesOfTheTable(String name, String dims) {
        String[] f = dims.split(" ");
        int[] d = new int[f.length];
        for (int i = 0; i < f.length; i++) d[i] = Integer.parseInt(f[i]);
        assertEquals(Shape.of(d), BenchProblem.parseList(name).get(0).spec().outputShape());
    }

    @Test
    void standardSetIsTheNineProblemsInTableOrderWithoutBias() {
        List<BenchProblem> all = BenchProblem.standard();
        assertEquals(List.of("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "D1"), all.stream().map(BenchProblem::name).toList());
        assertTrue(all.stream().noneMatch(p -> p.spec().bias()));
        assertTrue(all.stream().allMatch(BenchProblem::isStandard));
    }

    @Test
    void d1IsModulatedDeformableWithOneOffsetGroupAndTheTableShapes() {
        BenchProblem d1 = BenchProblem.parseList("D1").get(0);
        assertEquals(ConvType.DEFORMABLE, d1.spec().type());
        assertTrue(d1.spec().modulated());
        assertEquals(Shape.of(8, 18, 28, 28), d1.spec().offsetShape());
        assertEquals(Shape.of(8, 9, 28, 28), d1.spec().maskShape());
    }

    @Test
    void listAcceptsNamesNamedLinesAndBareLines() {
        List<BenchProblem> ps = BenchProblem.parseList("p3, tiny=mb1ic2ih5oc3kh3ph1 mb1ic4ih6oc4kh1");
        assertEquals(List.of("P3", "tiny", "mb1ic4ih6oc4kh1"), ps.stream().map(BenchProblem::name).toList());
        assertEquals(Shape.of(1, 3, 5, 5), ps.get(1).spec().outputShape());
        assertFalse(ps.get(1).isStandard());
    }

    @Test
    void aNamedLineThatDiffersFromTheStandardOneIsNotSentToThePeer() {
        assertFalse(BenchProblem.parseList("P1=mb1ic2ih5oc3kh3ph1").get(0).isStandard());
    }

    @Test
    void anUnreadableItemIsRefusedNamingItAndTheStandardNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchProblem.parseList("P9"));
        assertTrue(e.getMessage().contains("\"P9\"") && e.getMessage().contains("P1, P2"), e.getMessage());
    }
}
