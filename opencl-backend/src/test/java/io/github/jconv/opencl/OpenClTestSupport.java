package io.github.jconv.opencl;

import io.github.jconv.DType;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Opening a session or skipping with the probe's reason; moving FP64 test data to and from devices. */
final class OpenClTestSupport {
    private OpenClTestSupport() {
    }

    /** A session on device 0, or a skipped test (a failure when CI lists opencl in JCONV_REQUIRE_BACKENDS). */
    static ConvBackend openOrSkip() {
        ProbeResult r = new OpenClBackendProvider().probe();
        String required = System.getenv().getOrDefault("JCONV_REQUIRE_BACKENDS", "");
        if (!r.available() && Arrays.asList(required.split(",")).contains("opencl")) {
            fail("JCONV_REQUIRE_BACKENDS lists opencl but the probe says: " + r.reason() + "; fix: " + r.fix());
        }
        assumeTrue(r.available(), () -> "no OpenCL device: " + r.reason() + "; fix: " + r.fix());
        return new OpenClBackendProvider().open(0);
    }

    static DeviceBuffer put(ConvBackend b, DType dt, Shape shape, double[] v) {
        DeviceBuffer buf = b.allocate(dt, shape);
        if (dt == DType.FP64) {
            b.upload(buf, 0, v, 0, v.length);
        } else {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            b.upload(buf, 0, f, 0, f.length);
        }
        return buf;
    }

    /** A buffer full of NaN, so a pass that reads its output instead of overwriting it shows. */
    static DeviceBuffer poisoned(ConvBackend b, DType dt, Shape shape) {
        double[] nan = new double[(int) shape.elementCount()];
        Arrays.fill(nan, Double.NaN);
        return put(b, dt, shape, nan);
    }

    static double[] get(ConvBackend b, DeviceBuffer buf) {
        int n = (int) buf.elementCount();
        double[] out = new double[n];
        if (buf.dtype() == DType.FP64) {
            b.download(buf, 0, out, 0, n);
        } else {
            float[] f = new float[n];
            b.download(buf, 0, f, 0, n);
            for (int i = 0; i < n; i++) out[i] = f[i];
        }
        return out;
    }

    static double[] random(Random rnd, long n, double lo, double hi) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rnd.nextDouble();
        return v;
    }

    /** Offsets whose fractional part stays in [0.2, 0.8], so central differences never cross a cell edge. */
    static double[] offsets(Random rnd, long n, int reach) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (rnd.nextInt(2 * reach + 1) - reach) + 0.2 + 0.6 * rnd.nextDouble();
        return v;
    }

    /** Index of the first element where |got - want| exceeds tol * (1 + max|want|), or -1. */
    static int firstMismatch(double[] got, double[] want, double tol) {
        double scale = 1;
        for (double v : want) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= tol * scale)) return i;
        }
        return -1;
    }
}
