package io.github.jconv.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * How a host-device transfer is cut into pieces that fit the session's page-locked staging area:
 * pure arithmetic, no CUDA. A piece never splits an element, every piece but the last is full, and
 * the pieces cover {@code 0..elements} in order without gaps or overlap.
 */
final class StagingPlan {
    /** One piece: {@code count} elements starting at element {@code offset} of the transfer. */
    record Chunk(long offset, int count) {
    }

    private StagingPlan() {
    }

    /** Elements that fit one staging slot of {@code capBytes} (at least one, whatever the cap). */
    static int elementsPerChunk(int elementBytes, long capBytes) {
        check(0, elementBytes, capBytes);
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, capBytes / elementBytes));
    }

    /** The pieces of a transfer of {@code elements} elements of {@code elementBytes} bytes each. */
    static List<Chunk> chunks(long elements, int elementBytes, long capBytes) {
        check(elements, elementBytes, capBytes);
        int per = elementsPerChunk(elementBytes, capBytes);
        List<Chunk> out = new ArrayList<>((int) Math.min(1024, (elements + per - 1) / per));
        for (long at = 0; at < elements; at += per) {
            out.add(new Chunk(at, (int) Math.min(per, elements - at)));
        }
        return out;
    }

    /** Bytes one staging slot needs for this transfer: the largest piece, never more than the cap allows. */
    static long slotBytes(long elements, int elementBytes, long capBytes) {
        check(elements, elementBytes, capBytes);
        return Math.min(elements, elementsPerChunk(elementBytes, capBytes)) * (long) elementBytes;
    }

    private static void check(long elements, int elementBytes, long capBytes) {
        if (elements < 0) throw new IllegalArgumentException("elements = " + elements + ": must be >= 0; e.g. 1024");
        if (elementBytes != 2 && elementBytes != 4 && elementBytes != 8) {
            throw new IllegalArgumentException("elementBytes = " + elementBytes + ": must be 2, 4 or 8 (FP16/BF16, FP32, FP64); e.g. 4");
        }
        if (capBytes <= 0 || capBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("capBytes = " + capBytes + ": must be in 1.." + Integer.MAX_VALUE
                    + " (one direct buffer); e.g. " + PinnedStaging.DEFAULT_CAP_BYTES);
        }
    }
}
