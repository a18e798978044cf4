package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The same call gives the same bits on 1, 2 and 8 worker threads. */
class ThreadDeterminismTest {
    static ConvEngine one, two, eight;

    @BeforeAll
    static void open() {
        one = ConvEngine.open(new CpuBackendProvider(1), 0);
        two = ConvEngine.open(new CpuBackendProvider(2), 0);
        eight = ConvEngine.open(new CpuBackendProvider(8), 0);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
        eight.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "mb5ic16ih20oc24kh3ph1",
            "mb1ic64ih40oc8kh3ph1",
            "g8mb3ic16ih17oc16kh3ph1",
            "g16mb5ic16ih15oc16kh3sh2ph1",
            "mb6ic32ih9oc20kh1",
            "mb2ic6id6ih7iw8oc5kd3kh3kw3pd1ph1pw1",
            "tr1mb5ic16ih9oc12kh4sh2ph1",
            "tr1g2mb3ic8ih7oc6kh3sh2ph1oph1",
            "dg2msk1mb5ic8ih10oc12kh3ph1",
            "dg1mb3ic6ih9oc4kh3sh2ph1",
    })
    void oneTwoAndEightThreadsGiveBitIdenticalResults(String line) {
        ConvSpec spec = ConvSpec.parse(line);
        PassRunner runner = new PassRunner(spec, 42, 2.5);
        assertEquals(8, ((CpuBackend) eight.backend()).threads());
        for (DType dtype : new DType[]{DType.FP32, DType.FP64}) {
            for (Pass pass : runner.passes()) {
                Map<Role, double[]> a = runner.run(one, pass, dtype);
                Map<Role, double[]> b = runner.run(two, pass, dtype);
                Map<Role, double[]> c = runner.run(eight, pass, dtype);
                for (Role r : a.keySet()) {
                    assertArrayEquals(a.get(r), b.get(r), line + " " + dtype + " " + pass + " " + r.label() + ": 1 vs 2 threads");
                    assertArrayEquals(a.get(r), c.get(r), line + " " + dtype + " " + pass + " " + r.label() + ": 1 vs 8 threads");
                }
            }
        }
    }
}
