package io.github.jconv;

import io.github.jconv.spi.AbstractDeviceBuffer;
import io.github.jconv.spi.BufferTracker;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import io.github.jconv.spi.Support;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** A provider for engine tests: it holds buffers but computes nothing, and counts executes. */
class FakeProvider implements ConvBackendProvider {
    final String name;
    final int priority;
    final boolean available;
    /** The device kind reported by the probe ({@link DeviceInfo#type()}). */
    final String deviceType;
    final AtomicInteger executes = new AtomicInteger();
    /** The passes executed, in order. */
    final java.util.List<Pass> passes = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Calls of {@link #probe()} (lazy selection tests). */
    final AtomicInteger probes = new AtomicInteger();
    /** Buffers allocated by sessions of this provider. */
    final AtomicInteger allocations = new AtomicInteger();
    /** Transfers (uploads and downloads) that reached sessions of this provider. */
    final AtomicInteger transfers = new AtomicInteger();

    FakeProvider(String name, int priority, boolean available) {
        this(name, priority, available, "test");
    }

    FakeProvider(String name, int priority, boolean available, String deviceType) {
        this.name = name;
        this.priority = priority;
        this.available = available;
        this.deviceType = deviceType;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int priority() {
        return priority;
    }

    @Override
    public ProbeResult probe() {
        probes.incrementAndGet();
        return devices();
    }

    private ProbeResult devices() {
        return available
                ? ProbeResult.available(name, List.of(new DeviceInfo(0, name + "-device", deviceType, 0, 1, Map.of())))
                : ProbeResult.unavailable(name, "no " + name + " here", "install " + name);
    }

    @Override
    public ConvBackend open(int deviceIndex) {
        return new Session();
    }

    final class Session implements ConvBackend {
        final BufferTracker tracker = new BufferTracker(name);

        @Override
        public String name() {
            return name;
        }

        @Override
        public DeviceInfo device() {
            return devices().devices().get(0);
        }

        @Override
        public DeviceBuffer allocate(DType dtype, Shape shape) {
            allocations.incrementAndGet();
            AbstractDeviceBuffer b = new AbstractDeviceBuffer(this, dtype, shape) {
            };
            return b;
        }

        /** Counts the transfer; the bytes go nowhere (the typed transfers of the SPI end here). */
        @Override
        public void write(DeviceBuffer dst, long dstOffset, java.nio.ByteBuffer src) {
            transfers.incrementAndGet();
            src.position(src.limit());
        }

        @Override
        public void read(DeviceBuffer src, long srcOffset, java.nio.ByteBuffer dst) {
            transfers.incrementAndGet();
            dst.position(dst.limit());
        }

        @Override
        public Support supports(ConvSpec spec, Pass pass, DType dtype) {
            return dtype == DType.FP16 ? Support.no("fake has no FP16") : Support.yes();
        }

        @Override
        public void execute(Pass pass, ConvSpec spec, ConvArgs args) {
            executes.incrementAndGet();
            passes.add(pass);
        }

        @Override
        public String lastAlgorithm() {
            return "none";
        }

        @Override
        public BufferTracker tracker() {
            return tracker;
        }

        @Override
        public void close() {
        }
    }
}
