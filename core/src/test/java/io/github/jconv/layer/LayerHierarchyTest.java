package io.github.jconv.layer;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Modifier;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layer classes are closed: no subclass outside jconv can change how parameters are written. */
class LayerHierarchyTest {
    @Test
    void layersAreFinalOrSealed() {
        assertTrue(AbstractConvLayer.class.isSealed());
        assertEquals(Set.of(ConvLayer.class, DeformableConvLayer.class), Set.of(AbstractConvLayer.class.getPermittedSubclasses()));
        assertTrue(ConvLayer.class.isSealed(), "ConvLayer permits only TransposedConvLayer");
        assertEquals(Set.of(TransposedConvLayer.class), Set.of(ConvLayer.class.getPermittedSubclasses()));
        assertTrue(Modifier.isFinal(TransposedConvLayer.class.getModifiers()));
        assertTrue(Modifier.isFinal(DeformableConvLayer.class.getModifiers()));
    }
}
