package io.havn.common.domain;

import java.util.ArrayList;
import java.util.List;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/** Reading a parsed domain XML: child elements, their text, an attribute's name. Decides nothing. */
final class Dom {
    private Dom() {
    }

    /** The trimmed text of {@code parent}'s first child {@code tag} of no namespace, or null. */
    static String text(Element parent, String tag) {
        Element e = child(parent, tag);
        return e == null ? null : e.getTextContent().trim();
    }

    /** {@code parent}'s first child {@code tag} of no namespace, or null. */
    static Element child(Element parent, String tag) {
        for (Element e : children(parent)) {
            if (e.getNamespaceURI() == null && e.getLocalName().equals(tag)) {
                return e;
            }
        }
        return null;
    }

    /** The child elements of {@code parent}, in document order. */
    static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }

    /** An attribute's local name, or its node name when it was parsed without namespaces. */
    static String name(Node attribute) {
        return attribute.getLocalName() == null ? attribute.getNodeName() : attribute.getLocalName();
    }

    /** The value of {@code e}'s attribute {@code name}, or {@code otherwise} when it is absent or empty. */
    static String attribute(Element e, String name, String otherwise) {
        return e.getAttribute(name).isEmpty() ? otherwise : e.getAttribute(name);
    }
}
