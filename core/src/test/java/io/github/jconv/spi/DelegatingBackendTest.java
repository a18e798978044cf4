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
}
