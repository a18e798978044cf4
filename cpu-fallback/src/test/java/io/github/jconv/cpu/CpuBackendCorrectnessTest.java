package io.github.jconv.cpu;

import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every pass of every option agrees with the conformance kit's FP64 reference, in FP32 and FP64. */
class CpuBackendCorrectnessTest {
    static final String[] PROBLEMS = {
            "mb2ic4ih7oc6kh3ph1",
            "mb1ic3iw11oc5kw3sw2pw1",
            "mb2ic3id4ih5iw6oc4kd3kh3kw3pd1ph1pw1",
            "mb2ic3ih9iw8oc4kh3kw2ph2phr0pw0pwr1",
            "mb2ic3ih11oc4kh3sh2dh2ph2",
            "mb2ic3ih10oc4kh2sh3",
            "mb1ic2id5ih4iw7oc3kd2kh1kw3sd2sh1sw2dd2",
            "g2mb2ic4ih7oc6kh3ph1",
            "g4mb2ic4ih7oc4kh3ph1",
            "g4mb2ic4ih8oc4kh3sh2ph1dh2",
            "g3mb1ic3iw9oc3kw3pw1",
            "g4mb2ic4ih7oc8kh3ph1",
            "g3mb2ic3ih6oc3kh3ph3",
            "g4mb2ic4ih7iw6oc4kh3kw2ph2phr0pw0pwr1dh2",
            "g2mb1ic2id4ih5iw4oc2kd3kh2kw3pd1ph0pw2dh2",
            "g5mb3ic5iw12oc5kw4pw1pwr2",
            "g4mb2ic4ih9iw8oc4kh3kw3ph2pw2dh2dw2",
            "g2mb2ic2ih3iw2oc2kh3kw5ph1pw2",
            "g3mb2ic3ih6iw5oc3kh2kw3ph1phr0pw1",
            "tr1g4mb2ic4ih5oc4kh3ph1",
            "tr1g3mb1ic3ih5iw4oc3kh2kw3ph0pw2dh2",
            "mb2ic8ih5oc6kh1",
            "g2mb2ic8ih5oc6kh1bia0",
            "mb2ic8ih5oc6kh1sh2",
            "mb2ic4ih6oc3kh3bia0",
            "mb3ic4ih6oc130kh3ph1",
            "mb1ic64ih40oc8kh3ph1",
            "mb1ic16id6ih24iw24oc4kd3kh3kw3pd1ph1pw1",
            "mb1ic16id5ih9iw9oc3kd3kh3kw3pd2ph2pw2dd2dh2dw2",
            "mb9ic2ih3oc2kh2",
            "mb1ic1id1ih1iw2oc2kd1kh1kw3pd0ph0pw1pdr0phr0pwr2dd1dh1dw2",
            "g2mb1ic4id5ih4iw2oc4kd3kh1kw3sd3sh2sw1pd2ph1pw1pdr2phr0pwr2dd1dh1dw2",
            "tr1mb2ic4ih5oc6kh4sh2ph1",
            "tr1g2mb2ic4ih5oc6kh3sh2ph1oph1",
            "tr1mb1ic3ih4oc2kh3dh2ph1oph1",
            "tr1mb2ic3iw6oc4kw3sw3pw1",
            "tr1mb1ic2id3ih3iw4oc3kd2kh3kw2sd2sh1sw2pd0ph1pw1",
            "tr1g4mb2ic4ih5oc4kh3sh2ph1oph1",
            "tr1mb2ic4ih5oc3kh1",
            "tr1mb2ic4ih5iw4oc3kh3kw2sh2sw1ph2phr0pw0pwr1",
            "dg1mb2ic4ih6oc4kh3ph1",
            "dg2msk1mb2ic4ih6oc6kh3ph1",
            "dg2msk1g2mb1ic4ih7oc4kh3sh2ph1",
            "dg4msk1mb1ic4ih5oc2kh2",
            "dg1msk1g2mb2ic6ih5iw6oc4kh3kw2ph1dh2",
            "dg2msk1mb1ic8ih12oc5kh3ph1",
    };

    static CpuBackendProvider provider;
    static ConvEngine engine;

    @BeforeAll
    static void open() {
        engine = ConvEngine.open(new CpuBackendProvider(2), 0);
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(PROBLEMS).flatMap(p -> Stream.of(Arguments.of(p, DType.FP32), Arguments.of(p, DType.FP64)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void everyPassMatchesTheReference(String line, DType dtype) {
        ConvSpec spec = ConvSpec.parse(line);
        PassRunner runner = new PassRunner(spec, line.hashCode(), 1.7);
        for (Pass pass : runner.passes()) {
            Map<Role, double[]> got = runner.run(engine, pass, dtype);
            Map<Role, double[]> want = runner.oracle(pass);
            for (Map.Entry<Role, double[]> e : want.entrySet()) {
                double[] g = got.get(e.getKey()), w = e.getValue();
                double scale = 1;
                for (double v : w) scale = Math.max(scale, Math.abs(v));
                double tol = (dtype == DType.FP64 ? 1e-11 : 2e-5) * scale;
                for (int i = 0; i < w.length; i++) {
                    int at = i;
                    assertTrue(Math.abs(g[i] - w[i]) <= tol,
                            () -> line + " " + dtype + " " + pass + " " + e.getKey().label() + "[" + at + "] = " + g[at]
                                    + ", reference " + w[at] + " (tolerance " + tol + ")");
                }
            }
        }
    }
}
