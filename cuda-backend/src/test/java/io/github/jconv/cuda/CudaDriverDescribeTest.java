package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The probe's reason is one readable line taken from whatever the native loader said. */
class CudaDriverDescribeTest {
    @Test
    void jcudasNestedLoaderMessageBecomesNoLibcudaWithTheLoadersLine() {
        String nested = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Stack trace from the attempt to load the library as a file:\n"
                + "java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib\n"
                + "\tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2434)\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory\n"
                + "\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)\n";
        assertEquals("no libcuda.so.1 (UnsatisfiedLinkError: libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory)",
                CudaDriver.describe(new UnsatisfiedLinkError(nested)));
    }

    @Test
    void theSecondTouchsNoClassDefFoundErrorStillSaysNoLibcuda() {
        assertEquals("no libcuda.so.1 (JCuda's driver binding failed to load earlier in this JVM: Could not initialize class jcuda.driver.JCudaDriver)",
                CudaDriver.describe(new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver")));
    }

    @Test
    void anUnrelatedLinkageErrorIsReportedAsItself() {
        assertEquals("JCuda's driver binding did not load (UnsatisfiedLinkError: no JCudaDriver in java.library.path)",
                CudaDriver.describe(new UnsatisfiedLinkError("no JCudaDriver in java.library.path\nmore")));
    }
}
