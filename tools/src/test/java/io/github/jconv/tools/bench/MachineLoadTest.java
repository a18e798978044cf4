package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MachineLoadTest {
    private static final String SELF_BEFORE = "4242 (java (bench)) S 1 4242 1 0 -1 4194304 10 0 0 0 100 20 5 5 20 0 3 0 1 2 3";
    private static final String SELF_AFTER = "4242 (java (bench)) S 1 4242 1 0 -1 4194304 10 0 0 0 160 40 25 5 20 0 3 0 1 2 3";

    @Test
    void readsBusyAndTotalJiffiesAndOwnTimeIncludingWaitedChildren() {
        MachineLoad.Snapshot s = MachineLoad.parse("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n", SELF_BEFORE);
        assertEquals(150, s.busyAll());
        assertEquals(1000, s.totalAll());
        assertEquals(130, s.own()); // utime 100 + stime 20 + cutime 5 + cstime 5; the ')' inside the name is skipped
    }

    @Test
    void otherCoresAreBusyTimeNotOursOverWallTime() {
        // 2 CPUs, 100 jiffies of wall each (200 in total); 180 busy, of which 100 ours: others kept 0.8 cores busy
        MachineLoad.Snapshot a = MachineLoad.parse("cpu  1000 0 0 1000 0 0 0 0\n", SELF_BEFORE);
        MachineLoad.Snapshot b = MachineLoad.parse("cpu  1180 0 0 1020 0 0 0 0\n", SELF_AFTER);
        assertEquals(0.8, MachineLoad.otherCores(a, b, 2), 1e-12);
    }

    @Test
    void unknownLoadIsNaNNotZero() {
        assertTrue(Double.isNaN(MachineLoad.otherCores(null, null, 2)));
    }
}
