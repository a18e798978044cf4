package io.github.jconv.conformance;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one form a failing case is reported in: pass, dtype, problem line (with its offsets option). */
class ReproTest {
    @Test
    void theFormIsPassDtypeThenTheLineAndReadsBack() {
        Repro r = new Repro(Pass.BACKWARD_DATA, DType.FP32, Problem.of("g2mb2ic4ih7oc6kh3ph1"));
        // written out by hand from the form the class documents; the line in its canonical spelling (every axis)
        assertEquals("pass=BACKWARD_DATA dtype=FP32 g2mb2ic4ih7iw7oc6kh3kw3ph1pw1", r.toString());
        Repro back = Repro.parse(r.toString());
        assertEquals(r.pass(), back.pass());
        assertEquals(r.dtype(), back.dtype());
        assertEquals(r.problem().spec(), back.problem().spec());
    }

    @Test
    void theOffsetsOptionTravelsWithTheLineBecauseItChangesTheData() {
        Problem far = Catalogue.parse("inline", "dg1mb1ic2ih5oc2kh3ph1 offsets=far").get(0);
        Repro r = new Repro(Pass.BACKWARD_OFFSET_MASK, DType.FP64, far);
        assertEquals("pass=BACKWARD_OFFSET_MASK dtype=FP64 dg1g1mb1ic2ih5iw5oc2kh3kw3ph1pw1 offsets=far", r.toString());
        Repro back = Repro.parse(r.toString());
        assertEquals(Offsets.FAR, back.problem().offsets());
        assertEquals(far.seed(), back.problem().seed(), "the same data");
    }

    @Test
    void wordsMayComeInAnyOrderAndCase() {
        Repro r = Repro.parse("mb1ic3ih8oc4kh3  DTYPE=fp64 pass=forward");
        assertEquals(Pass.FORWARD, r.pass());
        assertEquals(DType.FP64, r.dtype());
        assertEquals(ConvSpec.parse("mb1ic3ih8oc4kh3"), r.problem().spec());
    }

    @Test
    void anIncompleteOrWrongReproIsRefusedNamingWhatIsWrong() {
        IllegalArgumentException noPass = assertThrows(IllegalArgumentException.class, () -> Repro.parse("dtype=FP32 mb1ic3ih8oc4kh3"));
        assertTrue(noPass.getMessage().contains("needs pass=") && noPass.getMessage().contains("e.g. pass=FORWARD"), noPass.getMessage());
        IllegalArgumentException badPass = assertThrows(IllegalArgumentException.class, () -> Repro.parse("pass=SIDEWAYS dtype=FP32 mb1ic3ih8oc4kh3"));
        assertTrue(badPass.getMessage().startsWith("pass = SIDEWAYS: must be one of"), badPass.getMessage());
        IllegalArgumentException badType = assertThrows(IllegalArgumentException.class, () -> Repro.parse("pass=FORWARD dtype=INT8 mb1ic3ih8oc4kh3"));
        assertTrue(badType.getMessage().startsWith("dtype = INT8: must be one of"), badType.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Repro.parse("pass=FORWARD dtype=FP32 mb1ic3ih8oc4kh3 offsets=sideways"));
    }

    @Test
    void aFailedCaseEndsWithItsReproAndOtherStatusesDoNot() {
        Problem p = Problem.of("mb1ic2ih5oc2kh3");
        CaseResult failed = new CaseResult(Status.FAILED, "cpu", p, DType.FP32, "BACKWARD_WEIGHT", "dw: MISMATCH");
        assertEquals("FAILED cpu FP32 BACKWARD_WEIGHT g1mb1ic2ih5iw5oc2kh3kw3 -- dw: MISMATCH"
                + " -- repro: pass=BACKWARD_WEIGHT dtype=FP32 g1mb1ic2ih5iw5oc2kh3kw3", failed.toString());
        CaseResult passed = new CaseResult(Status.PASSED, "cpu", p, DType.FP32, "BACKWARD_WEIGHT", "");
        assertEquals("PASSED cpu FP32 BACKWARD_WEIGHT g1mb1ic2ih5iw5oc2kh3kw3", passed.toString());
    }

    @Test
    void theZeroOffsetIdentityIsRepeatedByItsForwardPassAtZeroOffsets() {
        Problem d = Problem.of("dg1msk1mb1ic2ih5oc2kh3ph1");
        CaseResult r = new CaseResult(Status.FAILED, "cpu", d, DType.FP32, ConformanceSuite.IDENTITY, "y: MISMATCH");
        assertEquals("pass=FORWARD dtype=FP32 dg1msk1g1mb1ic2ih5iw5oc2kh3kw3ph1pw1 offsets=zero", r.repro().toString());
    }

    @Test
    void theShrinkerReadsARepro() {
        Repro r = Shrinker.reproOf(new String[]{"pass=BACKWARD_DATA", "dtype=FP64", "mb1ic2ih5oc2kh3"});
        assertEquals(Pass.BACKWARD_DATA, r.pass());
        assertEquals(DType.FP64, r.dtype());
        assertEquals(ConvSpec.parse("mb1ic2ih5oc2kh3"), r.problem().spec());
        // and still the order it read before: line, dtype, check
        Repro old = Shrinker.reproOf(new String[]{"mb1ic2ih5oc2kh3", "FP64", "BACKWARD_DATA"});
        assertEquals(List.of(r.pass(), r.dtype(), r.problem().spec()), List.of(old.pass(), old.dtype(), old.problem().spec()));
    }
}
