package io.github.jconv.spi;

/**
 * A session's device memory as its caching allocator sees it.
 *
 * @param allocatedBytes     bytes in blocks held by live buffers (size classes, so at least what they asked)
 * @param reservedBytes      bytes held from the device: allocated plus cached
 * @param peakAllocatedBytes most allocated bytes since open or the last reset of peaks
 * @param peakReservedBytes  most reserved bytes since open or the last reset of peaks: the device high-water mark
 * @param deviceAllocations  calls to the device's allocator (cudaMalloc, clCreateBuffer, new float[])
 * @param deviceFrees        blocks given back to the device
 * @param cacheHits          requests served from the cache
 * @param cachedBlocks       blocks in the cache now
 * @param limitBytes         the cap on reserved bytes, 0 for none
 */
public record MemoryStats(long allocatedBytes, long reservedBytes, long peakAllocatedBytes, long peakReservedBytes,
                          long deviceAllocations, long deviceFrees, long cacheHits, long cachedBlocks, long limitBytes) {
    /** No allocator: all zeros. */
    public static final MemoryStats NONE = new MemoryStats(0, 0, 0, 0, 0, 0, 0, 0, 0);

    @Override
    public String toString() {
        return "allocated " + allocatedBytes + " B, reserved " + reservedBytes + " B, peak allocated " + peakAllocatedBytes
                + " B, peak reserved " + peakReservedBytes + " B, device allocations " + deviceAllocations + ", device frees "
                + deviceFrees + ", cache hits " + cacheHits + ", cached blocks " + cachedBlocks
                + (limitBytes > 0 ? ", limit " + limitBytes + " B" : ", no limit");
    }
}
