package io.github.jconv.spi;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The forwarding base of the decorators forwards every method of the SPI, defaults included. */
class DelegatingBackendTest {
    @Test
    void everySpiMethodIsForwarded() {
        List<String> missing = new ArrayList<>();
        for (Method m : ConvBackend.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) continue;
            try {
                Method own = DelegatingBackend.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
                if (Modifier.isAbstract(own.getModifiers())) missing.add(m.toString());
            } catch (NoSuchMethodException e) {
                missing.add(m.toString()); // a default of ConvBackend would answer for the decorator, not the delegate
            }
        }
        assertEquals(List.of(), missing, "DelegatingBackend must forward these");
    }

    @Test
    void aNullDelegateIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new DelegatingBackend(null) {
        });
        assertEquals(true, e.getMessage().startsWith("delegate = null"), e.getMessage());
    }

    @Test
    void severalPassesGoToTheDelegatesCallUnlessTheDecoratorSeesEachPass() {
        List<String> calls = new ArrayList<>();
        ConvBackend inner = new DelegatingBackend(new HostValuesTest.ByteStore()) {
            @Override
            public void execute(io.github.jconv.Pass pass, io.github.jconv.ConvSpec spec, io.github.jconv.ConvArgs args) {
                calls.add("inner execute " + pass);
            }

            @Override
            public void executeAll(java.util.Set<io.github.jconv.Pass> passes, io.github.jconv.ConvSpec spec, io.github.jconv.ConvArgs args) {
                calls.add("inner executeAll " + passes);
            }
        };
        java.util.Set<io.github.jconv.Pass> two = java.util.EnumSet.of(io.github.jconv.Pass.BACKWARD_WEIGHT, io.github.jconv.Pass.BACKWARD_DATA);
        // a decorator that does not override execute: the delegate's executeAll, which may share work
        new DelegatingBackend(inner) {
        }.executeAll(two, null, null);
        assertEquals(List.of("inner executeAll [BACKWARD_DATA, BACKWARD_WEIGHT]"), calls);
        calls.clear();
        // one that does: each pass through its override, in Pass order
        new DelegatingBackend(inner) {
            @Override
            public void execute(io.github.jconv.Pass pass, io.github.jconv.ConvSpec spec, io.github.jconv.ConvArgs args) {
                calls.add("decorator " + pass);
                super.execute(pass, spec, args);
            }
        }.executeAll(two, null, null);
        assertEquals(List.of("decorator BACKWARD_DATA", "inner execute BACKWARD_DATA", "decorator BACKWARD_WEIGHT",
                "inner execute BACKWARD_WEIGHT"), calls);
    }
}
