package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The piece plan of the page-locked staging area (pure arithmetic; runs without a GPU). */
class StagingPlanTest {
    private static List<StagingPlan.Chunk> plan(long elements, int elementBytes, long cap) {
        return StagingPlan.chunks(elements, elementBytes, cap);
    }

    @Test
    void aTransferThatFitsIsOnePiece() {
        // 1000 floats = 4000 bytes <= 8 MiB: one piece covering all of it
        assertEquals(List.of(new StagingPlan.Chunk(0, 1000)), plan(1000, 4, PinnedStaging.DEFAULT_CAP_BYTES));
        // exactly the cap: 16 bytes of FP32 = 4 elements, still one piece
        assertEquals(List.of(new StagingPlan.Chunk(0, 4)), plan(4, 4, 16));
    }

    @Test
    void anOddSizeAcrossTheCapIsFullPiecesThenTheRest() {
        // cap 4096 bytes holds 1024 floats; 2500 = 1024 + 1024 + 452
        assertEquals(List.of(new StagingPlan.Chunk(0, 1024), new StagingPlan.Chunk(1024, 1024), new StagingPlan.Chunk(2048, 452)),
                plan(2500, 4, 4096));
        // one element over the cap: a second piece of one element
        assertEquals(List.of(new StagingPlan.Chunk(0, 1024), new StagingPlan.Chunk(1024, 1)), plan(1025, 4, 4096));
        // FP16 with a cap of 10 bytes: 5 halves per piece; 12 = 5 + 5 + 2
        assertEquals(List.of(new StagingPlan.Chunk(0, 5), new StagingPlan.Chunk(5, 5), new StagingPlan.Chunk(10, 2)), plan(12, 2, 10));
    }

    @Test
    void aCapThatIsNotAMultipleOfTheElementNeverSplitsAnElement() {
        // cap 4097 bytes: floor(4097 / 8) = 512 doubles per piece; 1030 = 512 + 512 + 6
        assertEquals(List.of(new StagingPlan.Chunk(0, 512), new StagingPlan.Chunk(512, 512), new StagingPlan.Chunk(1024, 6)),
                plan(1030, 8, 4097));
        // a cap below one element still moves one element per piece
        assertEquals(List.of(new StagingPlan.Chunk(0, 1), new StagingPlan.Chunk(1, 1), new StagingPlan.Chunk(2, 1)), plan(3, 8, 5));
        assertEquals(8, StagingPlan.slotBytes(3, 8, 5));
    }

    @Test
    void piecesCoverTheTransferInOrderWithoutGapsForManySizes() {
        for (int bytes : new int[]{2, 4, 8}) {
            for (long cap : new long[]{1, 3, 8, 100, 4096}) {
                for (long n : new long[]{0, 1, 2, 7, 99, 100, 101, 4095, 4096, 4097, 123457}) {
                    List<StagingPlan.Chunk> p = plan(n, bytes, cap);
                    long per = Math.max(1, cap / bytes);
                    long next = 0;
                    for (int i = 0; i < p.size(); i++) {
                        StagingPlan.Chunk c = p.get(i);
                        assertEquals(next, c.offset(), "n=" + n + " cap=" + cap + " piece " + i);
                        assertTrue(c.count() > 0 && c.count() <= per, "n=" + n + " cap=" + cap + " piece " + i + ": " + c);
                        if (i < p.size() - 1) assertEquals(per, c.count(), "every piece but the last is full");
                        next += c.count();
                    }
                    assertEquals(n, next, "n=" + n + " cap=" + cap + " bytes=" + bytes);
                    assertEquals((n + per - 1) / per, p.size());
                    assertEquals(Math.min(n, per) * bytes, StagingPlan.slotBytes(n, bytes, cap));
                }
            }
        }
    }

    @Test
    void aHugeTransferKeepsLongOffsets() {
        // 3 * 2^31 floats with the default cap (2^23 bytes = 2^21 floats): 3 * 2^10 pieces, the last at (3 * 2^31 - 2^21)
        long n = 3L << 31;
        List<StagingPlan.Chunk> p = plan(n, 4, PinnedStaging.DEFAULT_CAP_BYTES);
        assertEquals(3 << 10, p.size());
        assertEquals(n - (1 << 21), p.get(p.size() - 1).offset());
    }

    @Test
    void badArgumentsNameTheParameter() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan(-1, 4, 16));
        assertTrue(e.getMessage().startsWith("elements = -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan(1, 3, 16));
        assertTrue(e.getMessage().startsWith("elementBytes = 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan(1, 4, 0));
        assertTrue(e.getMessage().startsWith("capBytes = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan(1, 4, 1L << 31));
        assertTrue(e.getMessage().contains("e.g. " + PinnedStaging.DEFAULT_CAP_BYTES), e.getMessage());
    }
}
