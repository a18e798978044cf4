package io.github.jconv.cuda;

/** The device had too little memory for a request. The session stays usable. */
public final class CudaOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final long requestedBytes;
    private final long freeBytes;

    CudaOutOfMemoryException(CudaStatus.Entry entry, String call, String problem, long requestedBytes, long freeBytes) {
        super(entry, call, problem, "requested " + requestedBytes + " bytes, "
                + (freeBytes >= 0 ? freeBytes + " bytes free on the device" : "free bytes unknown")
                + "; free buffers, use a smaller batch, or lower jconv.cuda.workspaceLimit");
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }

    /** Free device memory when the request failed; -1 when it could not be read. */
    public long freeBytes() {
        return freeBytes;
    }
}
