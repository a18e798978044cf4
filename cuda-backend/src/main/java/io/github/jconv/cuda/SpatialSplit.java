package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.Pass;

import java.util.ArrayList;
import java.util.List;

/**
 * Splitting a convolution whose tensors exceed cuDNN's element limit (int indexing) along the
 * outermost spatial axis (D in 3D, H in 2D, W in 1D), as PyTorch does for 32-bit indexing: a pure plan,
 * unit-tested without a GPU. The same parts serve every pass: forward writes each part's output rows;
 * the input gradient is the sum of the parts' window gradients (windows overlap by the halo); the weight
 * and bias gradients are sums over the parts.
 *
 * <p>Each part computes output rows {@code [outLo, outHi)} of that axis. It reads the window of input
 * rows {@code [first, last]} with {@code first = outLo * stride - padLo} and {@code last = (outHi - 1) *
 * stride - padLo + dilation * (kernel - 1)}: its own rows plus a halo of {@code dilation * (kernel - 1)}
 * rows that overlaps the next part. Of that window, rows {@code [inLo, inHi)} lie inside the input
 * (empty when the window lies in the padding only); {@code padLo} rows before row 0 and {@code padHi}
 * rows past the input's end are the problem's zero padding. The runner
 * gathers the window (zeros where it leaves the input) into a compact tensor and runs {@link Part#sub}:
 * the same problem with that window as its input along the axis and no padding there, whose output has
 * exactly {@code outHi - outLo} rows. Every other axis, the batch and the channels stay whole.
 *
 * <p>Every part's input, output and staged tensors stay within the limit; parts are as few as that
 * allows, with equal row counts (the last may be shorter). What cannot be split this way is refused
 * with the reason: a weight over the limit, a transposed convolution (not split yet), or a single
 * output row whose window (all channels, all inner axes) is itself over the limit.
 */
final class SpatialSplit {
    private SpatialSplit() {
    }

    /** One sub-problem. Row numbers are along the outermost spatial axis. */
    record Part(int outLo, int outHi, int first, int inLo, int inHi, int padLo, int padHi, ConvSpec sub) {
        /** Rows of the window: the sub-problem's input size along the axis. */
        int windowRows() {
            return padLo + (inHi - inLo) + padHi;
        }
    }

    /** The parts, or why there are none. */
    record Plan(List<Part> parts, String refusal) {
        boolean possible() {
            return refusal == null;
        }
    }

    /** Elements of the largest tensor cuDNN sees for {@code spec}'s forward: input, output or the staged input. */
    static long largestTensor(ConvSpec spec) {
        long n = Math.max(spec.inputShape().elementCount(), spec.outputShape().elementCount());
        CudnnPlan p = CudnnPlan.of(spec, Pass.FORWARD);
        return Math.max(n, p.stagedElements());
    }

    /** Splits {@code spec} so that every tensor of every part has at most {@code limit} elements. */
    static Plan plan(ConvSpec spec, long limit) {
        if (spec.weightShape().elementCount() > limit) {
            return new Plan(List.of(), "the weight has " + spec.weightShape().elementCount() + " elements, over the limit of " + limit
                    + "; splitting the input cannot help: use fewer channels or a smaller kernel");
        }
        if (spec.type() != ConvType.CONVOLUTION) {
            return new Plan(List.of(), spec.type().toString().toLowerCase(java.util.Locale.ROOT)
                    + " convolution is not split along its spatial axes (only plain convolution is); its tensors need at most "
                    + limit + " elements per batch item: use a smaller input or fewer channels");
        }
        int rows = spec.output(0);
        if (!fits(spec, 1, limit)) {
            Part one = part(spec, 0, 1);
            return new Plan(List.of(), "even one output row along the outermost spatial axis needs " + largestTensor(one.sub())
                    + " elements (its input window of " + one.windowRows() + " rows, all " + spec.inChannels()
                    + " input channels and the inner axes), over the limit of " + limit
                    + "; jconv splits along the outermost spatial axis only: use fewer channels or smaller inner axes");
        }
        int lo = 1, hi = rows; // fits(lo) holds, and the largest fitting row count lies in [lo, hi]
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (fits(spec, mid, limit)) lo = mid;
            else hi = mid - 1;
        }
        int count = (rows + lo - 1) / lo;
        int per = (rows + count - 1) / count; // equal parts, no larger than lo rows, so they fit too
        List<Part> parts = new ArrayList<>(count);
        for (int o = 0; o < rows; o += per) parts.add(part(spec, o, Math.min(rows, o + per)));
        return new Plan(List.copyOf(parts), null);
    }

    /** Whether parts of {@code per} output rows (the last one shorter) all fit; their size grows with {@code per}. */
    private static boolean fits(ConvSpec spec, int per, long limit) {
        int rows = spec.output(0);
        for (int o = 0; o < rows; o += per) {
            if (largestTensor(part(spec, o, Math.min(rows, o + per)).sub()) > limit) return false;
        }
        return true;
    }

    /** The part computing output rows [outLo, outHi). */
    static Part part(ConvSpec spec, int outLo, int outHi) {
        int in = spec.input(0);
        long first = (long) outLo * spec.stride(0) - spec.paddingLo(0);
        long last = (long) (outHi - 1) * spec.stride(0) - spec.paddingLo(0) + (long) spec.dilation(0) * (spec.kernel(0) - 1);
        long window = last - first + 1;
        int inLo = (int) Math.min(in, Math.max(0, first)); // the window's rows inside the input: [inLo, inHi), maybe empty
        int inHi = (int) Math.max(inLo, Math.min(in, last + 1));
        int padLo = (int) Math.min(window, Math.max(0, -first)); // window rows before row 0
        int padHi = (int) (window - padLo - (inHi - inLo));
        int[] input = spec.input();
        input[0] = Math.toIntExact(window);
        int[] lo = spec.paddingLo();
        int[] hi = spec.paddingHi();
        lo[0] = 0;
        hi[0] = 0;
        ConvSpec sub = spec.toBuilder().input(input).paddingLo(lo).paddingHi(hi).build();
        return new Part(outLo, outHi, Math.toIntExact(first), inLo, inHi, padLo, padHi, sub);
    }
}
