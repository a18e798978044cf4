package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The on-disk cache of benchmark-mode algorithm choices: a pure file format, no GPU. */
class AlgoDiskCacheTest {
    static final ConvSpec SPEC = ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build();
    static final String H200 = AlgoDiskCache.identity("NVIDIA H200", 9, 0, 13000, 91400);
    static final CudnnPlan.Op FWD = CudnnPlan.Op.FORWARD;

    static AlgoSelection.Key key(ConvSpec spec, Pass pass, CudaOptions.AlgoMode mode) {
        return new AlgoSelection.Key(spec.toString(), pass, DType.FP32, MathMode.FP32, true, "0:NVIDIA H200:sm90", 1L << 30, mode);
    }

    static AlgoSelection.Key key() {
        return key(SPEC, Pass.FORWARD, CudaOptions.AlgoMode.BENCHMARK);
    }

    // IMPLICIT_PRECOMP_GEMM (1) first with 4 KiB workspace, then IMPLICIT_GEMM (0) without
    static final List<AlgoSelection.Choice> CHOICES = List.of(
            new AlgoSelection.Choice(FWD, 1, 4096, CudnnTypes.FMA_MATH),
            new AlgoSelection.Choice(FWD, 0, 0, CudnnTypes.FMA_MATH));

    @Test
    void roundTripKeepsTheOrderAcrossInstances(@TempDir Path dir) {
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        assertNull(a.get(key()));
        assertTrue(a.put(key(), CHOICES));
        // a fresh instance (a later session) reads what the first wrote, in the same order
        assertEquals(CHOICES, new AlgoDiskCache(dir, H200).get(key()));
        // another pass of the same problem is another entry
        assertNull(a.get(key(SPEC, Pass.BACKWARD_DATA, CudaOptions.AlgoMode.BENCHMARK)));
        // options that change the ranking are part of the key
        AlgoSelection.Key k = key();
        assertNull(a.get(new AlgoSelection.Key(k.problem(), k.pass(), k.dtype(), MathMode.TF32, true, k.device(), k.workspaceLimit(), k.mode())));
        assertNull(a.get(new AlgoSelection.Key(k.problem(), k.pass(), DType.FP16, k.math(), true, k.device(), k.workspaceLimit(), k.mode())));
        assertNull(a.get(new AlgoSelection.Key(k.problem(), k.pass(), k.dtype(), k.math(), false, k.device(), k.workspaceLimit(), k.mode())));
    }

    @Test
    void heuristicModeIsNeitherStoredNorRead(@TempDir Path dir) {
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        assertFalse(a.put(key(SPEC, Pass.FORWARD, CudaOptions.AlgoMode.HEURISTIC), CHOICES));
        assertFalse(Files.exists(a.file()));
        assertTrue(a.put(key(), CHOICES));
        assertNull(a.get(key(SPEC, Pass.FORWARD, CudaOptions.AlgoMode.HEURISTIC)));
    }

    @Test
    void anotherDeviceDriverOrCudnnDoesNotReadTheEntry(@TempDir Path dir) {
        assertTrue(new AlgoDiskCache(dir, H200).put(key(), CHOICES));
        assertNull(new AlgoDiskCache(dir, AlgoDiskCache.identity("NVIDIA A100-SXM4-80GB", 8, 0, 13000, 91400)).get(key()));
        assertNull(new AlgoDiskCache(dir, AlgoDiskCache.identity("NVIDIA H200", 9, 0, 13010, 91400)).get(key()));
        assertNull(new AlgoDiskCache(dir, AlgoDiskCache.identity("NVIDIA H200", 9, 0, 13000, 91500)).get(key()));
        assertEquals(CHOICES, new AlgoDiskCache(dir, H200).get(key()));
    }

    @Test
    void aFileWithAForeignHeaderIsIgnoredEvenUnderTheRightName(@TempDir Path dir) throws Exception {
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        assertTrue(a.put(key(), CHOICES));
        String text = Files.readString(a.file());
        // same lines, header of another cuDNN copied in: the file is not trusted
        Files.writeString(a.file(), text.replace("cudnn91400", "cudnn91500"));
        assertNull(a.get(key()));
        // a future format version is not read either
        Files.writeString(a.file(), text.replace("jconv-algo-cache 1 ", "jconv-algo-cache 2 "));
        assertNull(a.get(key()));
    }

    @Test
    void damagedLinesAreIgnoredAndGoodOnesKept(@TempDir Path dir) throws Exception {
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        ConvSpec other = ConvSpec.convolution().batch(2).channels(3, 8).input(9, 9).kernel(3).build();
        AlgoSelection.Key k2 = key(other, Pass.FORWARD, CudaOptions.AlgoMode.BENCHMARK);
        assertTrue(a.put(key(), CHOICES));
        assertTrue(a.put(k2, CHOICES.subList(1, 2)));
        List<String> lines = new ArrayList<>(Files.readAllLines(a.file()));
        assertEquals(3, lines.size()); // header + two entries
        // flip the first entry's algorithm 1 -> 6 without fixing the checksum: a bit flip on disk
        int i = lines.get(1).startsWith(AlgoDiskCache.keyText(key())) ? 1 : 2;
        lines.set(i, lines.get(i).replace("FORWARD:1:4096", "FORWARD:6:4096"));
        lines.add("garbage without tabs");
        lines.add("a\tb"); // too few fields
        lines.add(AlgoDiskCache.keyText(key()) + "\tFORWARD:1:4096:3\t00000000"); // wrong checksum
        Files.write(a.file(), lines);
        assertNull(a.get(key()));
        assertEquals(CHOICES.subList(1, 2), a.get(k2));
        // a truncated file (crash mid-write by some other tool) loses the torn line only
        String text = Files.readString(a.file());
        Files.writeString(a.file(), text.substring(0, text.indexOf('\n') + 1) + lines.get(3 - i).substring(0, 20));
        assertNull(a.get(k2));
        // writing again after damage works and drops the damaged lines
        assertTrue(a.put(key(), CHOICES));
        assertEquals(CHOICES, a.get(key()));
        assertEquals(2, Files.readAllLines(a.file()).size());
        // bytes that are not UTF-8 make the whole file a miss, not an exception
        Files.write(a.file(), new byte[]{(byte) 0xff, (byte) 0xfe, 0, 1});
        assertNull(a.get(key()));
    }

    @Test
    void checksummedButImpossibleChoicesAreNotTrusted(@TempDir Path dir) throws Exception {
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        AlgoSelection.Key k = key();
        String kt = AlgoDiskCache.keyText(k);
        String header = "jconv-algo-cache 1 " + H200;
        for (String bad : new String[]{
                "BACKWARD_DATA:1:0:3",          // another op than the key's pass
                "FORWARD:8:0:3",                // no forward algorithm 8 (there are 8: 0..7)
                "FORWARD:-1:0:3",
                "FORWARD:1:2147483648:3",       // workspace over the key's 1 GiB limit
                "FORWARD:1:0:7",                // no such math type
                "FORWARD:1:0:3;FORWARD:1:0:3",  // duplicate
                "FORWARD:x:0:3", "", "FORWARD:1:0"}) {
            Files.writeString(a.file(), header + "\n" + AlgoDiskCache.line(kt, bad) + "\n", StandardCharsets.UTF_8);
            assertNull(a.get(k), bad);
        }
        Files.writeString(a.file(), header + "\n" + AlgoDiskCache.line(kt, "FORWARD:1:4096:3;FORWARD:0:0:3") + "\n");
        assertEquals(CHOICES, a.get(k)); // the same text with valid values is read: the checks above are what rejected
    }

    @Test
    void concurrentWritersLeaveAWholeFile(@TempDir Path dir) throws Exception {
        int writers = 8, each = 15;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int t = 0; t < writers; t++) {
                int tt = t;
                Callable<Boolean> job = () -> {
                    boolean ok = true;
                    for (int j = 0; j < each; j++) {
                        ConvSpec s = ConvSpec.convolution().batch(1 + tt).channels(1 + j, 4).input(8, 8).kernel(3).build();
                        // a separate instance per write, as separate sessions or processes would have
                        ok &= new AlgoDiskCache(dir, H200).put(key(s, Pass.FORWARD, CudaOptions.AlgoMode.BENCHMARK), CHOICES);
                    }
                    return ok;
                };
                fs.add(pool.submit(job));
            }
            for (Future<Boolean> f : fs) assertTrue(f.get(20, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        AlgoDiskCache a = new AlgoDiskCache(dir, H200);
        // every line is valid and every write is there (writes merge under the lock)
        for (int t = 0; t < writers; t++) {
            for (int j = 0; j < each; j++) {
                ConvSpec s = ConvSpec.convolution().batch(1 + t).channels(1 + j, 4).input(8, 8).kernel(3).build();
                assertEquals(CHOICES, a.get(key(s, Pass.FORWARD, CudaOptions.AlgoMode.BENCHMARK)), s.toString());
            }
        }
        assertEquals(1 + writers * each, Files.readAllLines(a.file()).size());
        try (var files = Files.list(dir)) { // no temporary file left behind
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".tmp")));
        }
    }

    @Test
    void directoryFollowsThePropertyThenTheEnvironmentThenHome() {
        Properties p = new Properties();
        p.setProperty("user.home", "/home/u");
        assertEquals(Path.of("/home/u/.cache/jconv/cuda"), AlgoDiskCache.directory(p, Map.of()));
        assertEquals(Path.of("/e/cuda"), AlgoDiskCache.directory(p, Map.of("JCONV_CACHE_DIR", "/e")));
        p.setProperty("jconv.cache.dir", "/p");
        assertEquals(Path.of("/p/cuda"), AlgoDiskCache.directory(p, Map.of("JCONV_CACHE_DIR", "/e")));
    }

    @Test
    void fileNamesAreSafeAndDistinct() {
        String a = AlgoDiskCache.fileName("NVIDIA H200 sm90 driver13000 cudnn91400");
        assertTrue(a.matches("[A-Za-z0-9._-]+"), a);
        assertNotEquals(a, AlgoDiskCache.fileName("NVIDIA/H200 sm90 driver13000 cudnn91400"));
        assertThrows(IllegalArgumentException.class, () -> new AlgoDiskCache(Path.of("."), " "));
        assertThrows(IllegalArgumentException.class, () -> new AlgoDiskCache(Path.of("."), "a\nb"));
    }
}
