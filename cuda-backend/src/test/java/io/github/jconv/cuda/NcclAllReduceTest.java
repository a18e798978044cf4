package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** NcclAllReduce's argument checks, which run before any native call (no GPU or NCCL needed). */
class NcclAllReduceTest {
    @Test
    void noEnginesIsAnIllegalArgumentNamingTheParameter() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NcclAllReduce.open(List.of()));
        assertTrue(e.getMessage().startsWith("engines = []"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NcclAllReduce.open(null));
        assertTrue(e.getMessage().startsWith("engines = null"), e.getMessage());
        List<io.github.jconv.ConvEngine> withNull = new ArrayList<>();
        withNull.add(null);
        e = assertThrows(IllegalArgumentException.class, () -> NcclAllReduce.open(withNull));
        assertTrue(e.getMessage().startsWith("engines[0] = null"), e.getMessage());
    }

    @Test
    void statusNeverThrowsAndExplainsAFailure() {
        NcclAllReduce.Status s = NcclAllReduce.status(); // loads NCCL or says why not; never a raw LinkageError
        if (s.ok()) {
            assertTrue(s.version() >= 20000, "NCCL 2 reports a version code >= 20000, got " + s.version());
        } else {
            assertTrue(s.reason().startsWith("NCCL") || s.reason().startsWith("ncclGetVersion"), s.reason());
            assertTrue(s.fix().contains("libnccl.so.2"), s.fix());
        }
        assertSame(s, NcclAllReduce.status(), "loaded once");
    }
}
