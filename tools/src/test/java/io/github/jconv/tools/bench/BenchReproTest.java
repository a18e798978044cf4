package io.github.jconv.tools.bench;

import io.github.jconv.ConvEngine;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.conformance.Repro;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pass that fails in bench is reported with the conformance kit's repro: the pass that failed, the dtype, the line. */
class BenchReproTest {
    /** The cpu backend, except that it refuses {@code refused} as a backend refuses what it cannot run. */
    private static ConvBackendProvider refusing(Pass refused) {
        ConvBackendProvider cpu = ConvEngine.providers().stream().filter(p -> p.name().equals("cpu")).findFirst().orElseThrow();
        return new ConvBackendProvider() {
            @Override
            public String name() {
                return "cpu-refuses-" + refused;
            }

            @Override
            public int priority() {
                return 0;
            }

            @Override
            public ProbeResult probe() {
                return cpu.probe();
            }

            @Override
            public ConvBackend open(int deviceIndex) {
                ConvBackend inner = cpu.open(deviceIndex);
                return (ConvBackend) Proxy.newProxyInstance(ConvBackend.class.getClassLoader(), new Class<?>[]{ConvBackend.class},
                        (proxy, m, args) -> {
                            if (m.getName().equals("execute") && args[0] == refused
                                    || m.getName().equals("executeAll") && ((java.util.Set<?>) args[0]).contains(refused)) {
                                throw new UnsupportedOperationException("planted: no " + refused);
                            }
                            try {
                                return m.invoke(inner, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
            }
        };
    }

    @Test
    void aPassRefusedInsideForwardBackwardIsNamedInTheRepro() {
        BenchProblem p = BenchProblem.parseList("tiny=mb1ic2ih6oc3kh3ph1bia0").get(0);
        try (ConvEngine engine = ConvEngine.open(refusing(Pass.BACKWARD_WEIGHT), 0)) {
            JconvRunner runner = new JconvRunner(engine, 0, 1, 5, JconvRunner.Timing.SINGLE, JconvRunner.ScratchMeter.NONE, 0, DType.FP32);
            JconvRunner.ProblemRound r = runner.run(p, List.of(BenchPass.FWD, BenchPass.FWD_BWD), 1);
            assertNotNull(r.timings().get(BenchPass.FWD), "forward alone still runs");
            String why = r.failures().get(BenchPass.FWD_BWD);
            assertNotNull(why, "forward+backward fails");
            assertTrue(why.startsWith("unsupported: planted: no BACKWARD_WEIGHT"), why);
            int at = why.indexOf(" -- repro: ");
            assertTrue(at > 0, why);
            Repro repro = Repro.parse(why.substring(at + " -- repro: ".length()));
            // forward and the data gradient ran; the weight gradient is the one that failed
            assertEquals(Pass.BACKWARD_WEIGHT, repro.pass(), why);
            assertEquals(DType.FP32, repro.dtype(), why);
            assertEquals(p.spec(), repro.problem().spec(), why);
        }
    }
}
