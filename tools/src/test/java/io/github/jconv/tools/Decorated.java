package io.github.jconv.tools;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.DelegatingBackend;
import io.github.jconv.DeviceBuffer;

/** A real backend with a planted fault run after each pass (to show the probe's checks can fail). */
final class Decorated extends DelegatingBackend {
    /** What happens after the real pass ran on {@code inner}. */
    interface Fault {
        void after(ConvBackend inner, ConvSpec spec, ConvArgs args);
    }

    private final ConvBackend inner;
    private final Fault afterExecute;
    private final Pass target;

    Decorated(ConvBackend inner, Pass target, Fault afterExecute) {
        super(inner);
        this.inner = inner;
        this.target = target;
        this.afterExecute = afterExecute;
    }

    /** Adds 1 to the first element of every output of {@code target}. */
    static Decorated offByOne(ConvBackend inner, Pass target) {
        return new Decorated(inner, target, (b, spec, args) -> {
            for (var e : args.asMap().entrySet()) {
                if (!target.outputs(spec).contains(e.getKey())) continue;
                float[] v = new float[1];
                b.download(e.getValue(), 0, v, 0, 1);
                v[0] += 1;
                b.upload(e.getValue(), 0, v, 0, 1);
            }
        });
    }

    static Decorated throwing(ConvBackend inner, Pass target) {
        return new Decorated(inner, target, (b, spec, args) -> {
            throw new IllegalStateException("planted failure");
        });
    }


    @Override
    public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
        inner.execute(pass, spec, args);
        if (pass == target) afterExecute.after(inner, spec, args);
    }
}
