package io.github.jconv.layer;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The layers' common part: {@link ConvLayer} (and its {@link TransposedConvLayer}) and {@link DeformableConvLayer};
 * the hierarchy is sealed and every layer writes its parameters through the engine's checked calls.
 * What a training loop holds on to: weight, bias and their gradients on the engine's device, and
 * forward/backward. The spec given at construction is a template; each forward adapts it to the
 * input's batch and spatial size. Backward overwrites the gradients (call it once per step, or
 * sum on the host).
 *
 * <p>Threads: a layer may be shared. Weight and bias are shared by all threads; each thread has
 * its own step: the input of its last {@link #forward}, and the gradients its last backward wrote.
 * So a thread's backward uses that thread's forward, {@link #gradWeight()} / {@link #gradBias()}
 * return the calling thread's gradients, and {@link #sgdStep} applies them. A thread that has not
 * run backward sees the gradients of the most recent backward on any thread (one thread trains,
 * another reads or steps). Updates ({@code sgdStep}, {@code setWeight}, {@code setBias}, {@code close}) wait
 * for calls that read the weights, and those wait for updates, so no call sees half-written
 * weights. A thread's backward must follow its own forward: forward on one thread and backward on
 * another throws {@link IllegalStateException}. Each thread other than the first holds its own
 * gradient buffers until it ends (they are freed at the next forward of a new thread) or the layer
 * is closed.
 */
public abstract sealed class AbstractConvLayer implements AutoCloseable permits ConvLayer, DeformableConvLayer {
    protected final ConvEngine engine;
    protected final DType dtype;
    private final ConvSpec template;
    private final DeviceBuffer weight;
    private final DeviceBuffer bias;
    /** Read: calls that read weight and bias; write: calls that change them, and close. */
    private final ReentrantReadWriteLock params = new ReentrantReadWriteLock();
    private final Map<Thread, Step> steps = new ConcurrentHashMap<>();
    /** The gradient buffers made with the layer: the first thread that steps takes them. */
    private final Step initial;
    private final AtomicBoolean initialTaken = new AtomicBoolean();
    /** The step whose gradients a thread without its own step sees. */
    private volatile Step latest;
    private volatile boolean closed;

    /** One thread's step: its last forward's spec and inputs, and the gradients its backward writes. */
    static final class Step {
        final Thread thread;
        ConvSpec spec;
        DeviceBuffer input;
        DeviceBuffer offset;
        DeviceBuffer mask;
        final DeviceBuffer gradWeight;
        final DeviceBuffer gradBias;
        DeviceBuffer gradOffset;
        DeviceBuffer gradMask;
        /** Set once this thread's backward wrote the gradients: until then the thread reads the latest ones. */
        volatile boolean hasGradients;

        Step(Thread thread, DeviceBuffer gradWeight, DeviceBuffer gradBias) {
            this.thread = thread;
            this.gradWeight = gradWeight;
            this.gradBias = gradBias;
        }

        void close() {
            for (DeviceBuffer b : new DeviceBuffer[]{gradWeight, gradBias, gradOffset, gradMask}) {
                if (b != null) b.close();
            }
        }
    }

    protected AbstractConvLayer(ConvEngine engine, ConvSpec template, ConvType expected, DType dtype, long seed) {
        if (engine == null) throw new IllegalArgumentException("engine = null: open one with ConvEngine.open()");
        if (template == null) throw new IllegalArgumentException("spec = null: build one with ConvSpec." + expected.name().toLowerCase(java.util.Locale.ROOT) + "()");
        if (dtype == null) throw new IllegalArgumentException("dtype = null: e.g. DType.FP32");
        if (template.type() != expected) {
            throw new IllegalArgumentException("spec type = " + template.type() + ": " + getClass().getSimpleName()
                    + " runs " + expected + "; use the layer class of that family");
        }
        this.engine = engine;
        this.dtype = dtype;
        this.template = template;
        // allocate all four, or free what was made: a failed constructor must leak nothing
        List<DeviceBuffer> made = new ArrayList<>(4);
        try {
            weight = keep(made, engine.allocate(dtype, template.weightShape()));
            DeviceBuffer gw = keep(made, engine.allocate(dtype, template.weightShape()));
            bias = template.bias() ? keep(made, engine.allocate(dtype, template.biasShape())) : null;
            DeviceBuffer gb = template.bias() ? keep(made, engine.allocate(dtype, template.biasShape())) : null;
            initial = new Step(null, gw, gb);
            initialise(seed);
        } catch (RuntimeException | Error e) {
            for (DeviceBuffer b : made) b.close();
            throw e;
        }
    }

    private static DeviceBuffer keep(List<DeviceBuffer> made, DeviceBuffer b) {
        made.add(b);
        return b;
    }

    /** Kaiming-uniform weights (bound √(6 / fan_in)) and zero bias, from a seed (the same numbers in FP32 and FP64). */
    private void initialise(long seed) {
        int n = (int) template.weightShape().elementCount();
        long fanIn = template.weightShape().elementCount() / template.weightShape().dim(0);
        double bound = Math.sqrt(6.0 / Math.max(1, fanIn));
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        setWeight(w);
        if (bias != null) setBias(new float[template.outChannels()]);
    }

    public ConvSpec spec() {
        return template;
    }

    public DeviceBuffer weight() { return weight; }
    public DeviceBuffer bias() { return bias; }

    /** This thread's weight gradient (see the class comment for threads that never ran backward). */
    public DeviceBuffer gradWeight() { return gradients().gradWeight; }

    /** This thread's bias gradient, or null when the spec has no bias. */
    public DeviceBuffer gradBias() { return gradients().gradBias; }

    /** The step whose gradients this thread sees: its own, else the latest backward's, else the initial buffers. */
    final Step gradients() {
        Step own = steps.get(Thread.currentThread());
        if (own != null && own.hasGradients) return own;
        Step l = latest;
        return l != null ? l : initial;
    }

    public void setWeight(float[] values) {
        checkLength("weight", values == null ? -1 : values.length, weight);
        write(() -> engine.upload(weight, 0, values, 0, values.length));
    }

    /** FP64 weights as given (an FP32 layer rounds them to float). */
    public void setWeight(double[] values) {
        checkLength("weight", values == null ? -1 : values.length, weight);
        write(() -> engine.upload(weight, 0, values, 0, values.length));
    }

    public void setBias(float[] values) {
        checkHasBias();
        checkLength("bias", values == null ? -1 : values.length, bias);
        write(() -> engine.upload(bias, 0, values, 0, values.length));
    }

    public void setBias(double[] values) {
        checkHasBias();
        checkLength("bias", values == null ? -1 : values.length, bias);
        write(() -> engine.upload(bias, 0, values, 0, values.length));
    }

    public float[] weightValues() {
        return read(() -> engine.downloadFloats(weight));
    }

    /** The weights in FP64 (exact for an FP64 layer). */
    public double[] weightDoubles() {
        return read(() -> engine.downloadDoubles(weight));
    }

    /** Plain SGD: w ← w − lr·dw, b ← b − lr·db, with this thread's gradients; on the device where the backend offers it, else on the host. */
    public void sgdStep(float learningRate) {
        if (!Float.isFinite(learningRate) || learningRate < 0) {
            throw new IllegalArgumentException("learningRate = " + learningRate
                    + ": must be a finite number >= 0 (0 leaves the weights as they are); e.g. learningRate = 0.01");
        }
        sgd(learningRate);
    }

    /**
     * Plain SGD with a learning rate in double: an FP64 layer computes w − lr·dw entirely in FP64;
     * an FP32 layer rounds lr to float first, as {@link #sgdStep(float)} takes it.
     */
    public void sgdStep(double learningRate) {
        if (!Double.isFinite(learningRate) || learningRate < 0 || (dtype != DType.FP64 && !Float.isFinite((float) learningRate))) {
            throw new IllegalArgumentException("learningRate = " + learningRate + ": must be a finite number >= 0"
                    + (dtype != DType.FP64 ? " that fits a float (this layer is " + dtype + ")" : "")
                    + "; e.g. learningRate = 0.01");
        }
        sgd(learningRate);
    }

    private void sgd(double lr) {
        write(() -> {
            Step g = gradients();
            step(weight, g.gradWeight, lr);
            if (bias != null) step(bias, g.gradBias, lr);
        });
    }

    private void step(DeviceBuffer p, DeviceBuffer g, double lr) {
        if (engine.backend().sgdStep(p, g, lr)) return; // the same arithmetic on the device, where the backend has it
        if (dtype == DType.FP64) {
            double[] pv = engine.downloadDoubles(p);
            double[] gv = engine.downloadDoubles(g);
            for (int i = 0; i < pv.length; i++) pv[i] -= lr * gv[i];
            engine.upload(p, 0, pv, 0, pv.length);
        } else {
            float lrf = (float) lr;
            float[] pv = engine.downloadFloats(p);
            float[] gv = engine.downloadFloats(g);
            for (int i = 0; i < pv.length; i++) pv[i] -= lrf * gv[i];
            engine.upload(p, 0, pv, 0, pv.length);
        }
    }

    /** Checks an input or gradient buffer given to this layer: not null, this layer's dtype. */
    final void checkBuffer(String name, DeviceBuffer b, Shape example) {
        if (b == null) throw new IllegalArgumentException(name + " = null: pass a " + dtype + " buffer of shape " + example);
        if (b.dtype() != dtype) {
            throw new IllegalArgumentException(name + " dtype = " + b.dtype() + ": this layer computes in " + dtype
                    + "; upload " + name + " as " + dtype + " (e.g. engine.upload(" + dtype + ", values, shape))");
        }
    }

    ConvSpec specFor(DeviceBuffer x) {
        checkBuffer("x", x, template.inputShape());
        return x.shape().equals(template.inputShape()) ? template : template.withInput(x.shape());
    }

    /**
     * Runs a forward: {@code run} computes y for the adapted spec; on success this thread's step
     * remembers the spec and inputs. Holds the read lock, so weights do not change meanwhile.
     */
    final DeviceBuffer forwardStep(DeviceBuffer x, DeviceBuffer offset, DeviceBuffer mask,
                                   java.util.function.Function<ConvSpec, DeviceBuffer> run) {
        return read(() -> {
            ConvSpec s = specFor(x);
            Step step = ownStep();
            DeviceBuffer y = run.apply(s);
            step.spec = s;
            step.input = x;
            step.offset = offset;
            step.mask = mask;
            return y;
        });
    }

    /** Runs a backward of this thread's last forward: {@code run} gets the step and returns dx. */
    final DeviceBuffer backwardStep(DeviceBuffer dy, java.util.function.Function<Step, DeviceBuffer> run) {
        return read(() -> {
            Step step = steps.get(Thread.currentThread());
            if (step == null || step.spec == null) {
                throw new IllegalStateException("backward before forward on this thread (" + Thread.currentThread().getName()
                        + "): a layer keeps each thread's last forward, and backward uses the calling thread's; call forward(x) on this thread first");
            }
            if (step.input.isClosed()) throw new IllegalStateException("the input of the last forward was closed before backward");
            checkBuffer("dy", dy, step.spec.outputShape());
            DeviceBuffer dx = run.apply(step);
            step.hasGradients = true;
            latest = step;
            return dx;
        });
    }

    /** This thread's step, made on its first use; steps of threads that have ended are freed then. */
    private Step ownStep() {
        Thread me = Thread.currentThread();
        Step s = steps.get(me);
        if (s != null) return s;
        for (Map.Entry<Thread, Step> e : steps.entrySet()) {
            Step old = e.getValue();
            if (!e.getKey().isAlive() && old != latest && old.gradWeight != initial.gradWeight && steps.remove(e.getKey(), old)) old.close();
        }
        if (initialTaken.compareAndSet(false, true)) {
            s = new Step(me, initial.gradWeight, initial.gradBias);
        } else {
            DeviceBuffer gw = engine.allocate(dtype, template.weightShape());
            DeviceBuffer gb;
            try {
                gb = bias != null ? engine.allocate(dtype, template.biasShape()) : null;
            } catch (RuntimeException | Error e) {
                gw.close();
                throw e;
            }
            s = new Step(me, gw, gb);
        }
        steps.put(me, s);
        return s;
    }

    /** Computes dW and dB (overwriting this step's) from the step's input and dy, plus extra roles for deformable. */
    final void weightAndBiasGradients(Step step, ConvArgs.Builder extra, DeviceBuffer dy) {
        engine.execute(Pass.BACKWARD_WEIGHT, step.spec, extra.x(step.input).dy(dy).dw(step.gradWeight).build());
        if (step.gradBias != null) {
            engine.execute(Pass.BACKWARD_BIAS, step.spec, ConvArgs.builder().dy(dy).db(step.gradBias).build());
        }
    }

    protected void checkOpen() {
        if (closed) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    }

    private void checkHasBias() {
        if (bias == null) throw new IllegalArgumentException("bias: this layer's spec has bias(false); build the spec with bias(true) to have one");
    }

    private static void checkLength(String name, int length, DeviceBuffer b) {
        if (length < 0) throw new IllegalArgumentException(name + " = null: pass " + b.elementCount() + " values");
        if (length != b.elementCount()) {
            throw new IllegalArgumentException(name + ".length = " + length + ": must be " + b.elementCount()
                    + " (shape " + b.shape() + ")");
        }
    }

    private <T> T read(java.util.function.Supplier<T> body) {
        return locked(params.readLock(), body);
    }

    private void write(Runnable body) {
        locked(params.writeLock(), () -> {
            body.run();
            return null;
        });
    }

    private <T> T locked(Lock lock, java.util.function.Supplier<T> body) {
        lock.lock();
        try {
            checkOpen();
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for calls in progress on other threads, then frees weights and every thread's gradients. */
    @Override
    public void close() {
        params.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            weight.close();
            if (bias != null) bias.close();
            initial.close();
            for (Step s : steps.values()) s.close();
            steps.clear();
        } finally {
            params.writeLock().unlock();
        }
    }
}
