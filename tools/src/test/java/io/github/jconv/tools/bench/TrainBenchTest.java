package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import io.github.jconv.Shape;
import io.github.jconv.DeviceBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** bench --train: T1's definition on both sides, its run on the cpu with the allocator's statistics, and the peer's row. */
class TrainBenchTest {
    @Test
    void t1ChainsItsShapes() {
        List<ConvSpec> s = TrainStack.specs(32);
        for (int i = 0; i + 1 < s.size(); i++) {
            Shape out = s.get(i).outputShape();
            Shape in = s.get(i + 1).inputShape();
            assertEquals(out.elementCount(), in.elementCount(), "layer " + i + " " + out + " feeds layer " + (i + 1) + " " + in);
            if (i + 1 < 5) assertEquals(out, in);
        }
        // the transposed layer doubles 28 to 56: (28 - 1)·2 − 2·1 + 4 = 56; the 3D layer reads [32, 32, 56, 56] as [32, 8, 4, 56, 56]
        assertEquals(Shape.of(32, 32, 56, 56), s.get(4).outputShape());
        assertEquals(Shape.of(32, 8, 4, 56, 56), s.get(5).inputShape());
    }

    /** The script's layers (--describe, no PyTorch needed) are T1's, so both sides time the same stack. */
    @Test
    void thePeerScriptDescribesTheSameLayers() throws Exception {
        Path script = Path.of("peers", TrainBench.SCRIPT).toAbsolutePath();
        assertTrue(Files.isRegularFile(script), script.toString());
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString(), "--describe", "--batch", "32").redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no python3 on the PATH: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.strip().lines().toList();
        List<ConvSpec> specs = TrainStack.specs(32);
        assertEquals(specs.size(), lines.size(), out);
        for (int i = 0; i < lines.size(); i++) assertEquals(specs.get(i), ConvSpec.parse(lines.get(i)), "layer " + i + ": " + lines.get(i));
    }

    @Test
    void aViewIsTheSameMemoryInAnotherShape() {
        try (ConvEngine e = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL));
             DeviceBuffer b = e.upload(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(1, 6));
             DeviceBuffer v = TrainStack.view(e, b, Shape.of(2, 3))) {
            e.upload(v, 4, new float[] {50}, 0, 1);
            assertArrayEquals(new float[] {1, 2, 3, 4, 50, 6}, e.downloadFloats(b));
            assertThrows(IllegalArgumentException.class, () -> TrainStack.view(e, b, Shape.of(4)));
        }
    }

    @Test
    void t1OnTheCpuAllocatesNothingAfterTheSecondStep() {
        try (ConvEngine e = ConvEngine.open(EngineOptions.backend("cpu", FallbackPolicy.FAIL))) {
            TrainBench.Result r = TrainBench.runJconv(e, 1, DType.FP32, 2, 2, 7);
            assertEquals(0, r.allocationsAfterSecondStep(), r.atEnd().toString());
            assertTrue(r.afterSecondStep().deviceAllocations() > 0);
            assertTrue(r.atEnd().peakReservedBytes() >= r.atEnd().peakAllocatedBytes());
            // every step's activations and gradients come back to the cache: nothing is held once T1 is closed but the cache
            assertEquals(0, e.memoryStats().allocatedBytes(), e.memoryStats().toString());
            assertEquals(2, r.stepMs().length);
            assertThrows(IllegalArgumentException.class, () -> TrainBench.runJconv(e, 1, DType.FP32, 1, 2, 7));
        }
    }

    @Test
    void benchTrainPrintsBothSidesWithAStandInPeer(@TempDir Path dir) throws Exception {
        Path fake = dir.resolve("fake_train.sh");
        Files.writeString(fake, "echo peer,device,problem,batch,dtype,median_ms,min_ms,max_ms,peak_bytes,peak_kind\n"
                + "echo torch,cpu,T1,1,fp32,100.0,90.0,110.0,1000000,cpu_maxrss_growth\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        int exit = new CommandLine(new BenchCommand(o, new PrintStream(err, true, StandardCharsets.UTF_8))).execute(
                "--train", "--train-batch", "1", "--backend", "cpu", "--threads", "2", "--warmup", "2", "--reps", "2",
                "--peer", "torch", "--python", "sh", "--peer-script", fake.toString());
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, text + err);
        assertTrue(text.contains("0 after it (target 0)"), text);
        assertTrue(text.contains("torch: median 100.0 ms"), text);
        assertTrue(text.contains("jconv / torch: step time"), text);
    }

    @Test
    void aBadDtypeIsRefusedNamingIt() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new CommandLine(new BenchCommand(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8)))
                .execute("--train", "--train-dtype", "fp8", "--backend", "cpu");
        assertEquals(2, exit);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("train-dtype = fp8"), err.toString(StandardCharsets.UTF_8));
        // bf16 is a dtype T1 knows, but the cpu backend computes in FP32 and FP64: refused by name, before any step
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        int exit2 = new CommandLine(new BenchCommand(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err2, true, StandardCharsets.UTF_8)))
                .execute("--train", "--train-dtype", "bf16", "--backend", "cpu");
        assertEquals(2, exit2);
        assertTrue(err2.toString(StandardCharsets.UTF_8).contains("train-dtype = BF16: backend cpu cannot run FORWARD"), err2.toString(StandardCharsets.UTF_8));
    }
}
