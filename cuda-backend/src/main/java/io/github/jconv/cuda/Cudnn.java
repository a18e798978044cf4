package io.github.jconv.cuda;

import org.bytedeco.cuda.global.cudnn;

/**
 * Loads cuDNN 9 through JavaCPP's presets once and remembers why it failed (the presets need
 * libcudart.so.13 and libcudnn.so.9 on the library path; the JNI bridges come from the jar).
 */
final class Cudnn {
    record Status(boolean ok, String reason, String fix, long version) {
    }

    private static Status status;

    private Cudnn() {
    }

    static synchronized Status status() {
        if (status == null) status = load();
        return status;
    }

    private static Status load() {
        try {
            org.bytedeco.javacpp.Loader.load(cudnn.class);
            long v = cudnn.cudnnGetVersion();
            if (v < 90000) {
                return new Status(false, "cuDNN " + versionString(v) + " is too old", "install cuDNN 9 (libcudnn.so.9)", v);
            }
            return new Status(true, "", "", v);
        } catch (LinkageError | RuntimeException e) { // UnsatisfiedLinkError, NoClassDefFoundError, or the Loader's own
            return new Status(false, "cuDNN 9 did not load: " + e, "install cuDNN 9 (libcudnn.so.9) and the CUDA 13 runtime "
                    + "(libcudart.so.13) where the dynamic linker finds them, e.g. LD_LIBRARY_PATH=/usr/local/cuda/lib64", 0);
        }
    }

    /** 91400 → "9.14.0". */
    static String versionString(long v) {
        return (v / 10000) + "." + (v % 10000 / 100) + "." + (v % 100);
    }
}
