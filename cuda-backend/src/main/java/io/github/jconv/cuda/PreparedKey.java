package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;

/**
 * The key of {@link PreparedPlans.Prepared}: the session fixes the options and the device, so the problem, the pass and
 * the dtype name everything the preparation depends on. Hashes the spec's fields directly (ConvSpec's own
 * hashCode formats its problem line, which is the per-call host work this cache removes).
 */
final class PreparedKey {
    final ConvSpec spec;
    final Pass pass;
    final DType dtype;
    private final int hash;

    PreparedKey(ConvSpec spec, Pass pass, DType dtype) {
        this.spec = spec;
        this.pass = pass;
        this.dtype = dtype;
        int h = java.util.Objects.hash(spec.type(), spec.batch(), spec.inChannels(), spec.outChannels(), spec.groups(),
                spec.offsetGroups(), spec.modulated(), spec.bias(), pass, dtype);
        for (int[] a : new int[][]{spec.input(), spec.kernel(), spec.stride(), spec.paddingLo(), spec.paddingHi(), spec.dilation(),
                spec.outputPadding()}) {
            h = 31 * h + java.util.Arrays.hashCode(a);
        }
        this.hash = h;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PreparedKey k && k.hash == hash && k.pass == pass && k.dtype == dtype && k.spec.equals(spec);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
