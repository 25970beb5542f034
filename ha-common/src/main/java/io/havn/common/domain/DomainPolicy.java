package io.havn.common.domain;

import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.w3c.dom.Element;

/**
 * What a VM's spec may ask of a host: its disks and every other host path only under the shared
 * storage roots, host devices only when {@code passthrough} is allowed, and one of the known
 * emulators. Each host checks a spec against its own policy when an operator adds the VM (the host
 * that takes the request and the leader) and again before it starts the VM; a spec that fails is
 * never started (see SECURITY.md).
 *
 * @param sharedStorage  absolute, normalised roots every host reaches alike (never {@code /})
 * @param passthrough    whether host devices (PCI, USB, SCSI, block, NVMe, TPM, input) may be passed through
 * @param emulators      the emulator paths a domain may name
 */
public record DomainPolicy(List<String> sharedStorage, boolean passthrough, Set<String> emulators) {
    /** The emulators distributions install. */
    public static final Set<String> DEFAULT_EMULATORS = Set.of("/usr/bin/qemu-system-x86_64",
            "/usr/bin/qemu-system-aarch64", "/usr/bin/qemu-system-ppc64", "/usr/bin/qemu-system-s390x",
            "/usr/libexec/qemu-kvm", "/usr/bin/qemu-kvm", "/usr/bin/kvm");

    /** Letters, digits and {@code . _ - + : @}; no spaces, no control characters, at most 100. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+:@-]{0,99}");
    /** How many problems a refusal lists at most. */
    private static final int MAX_PROBLEMS = 5;

    public DomainPolicy {
        List<String> roots = new ArrayList<>();
        for (String r : Objects.requireNonNull(sharedStorage, "sharedStorage")) {
            String n = normalise(r);
            if (n == null) {
                throw new IllegalArgumentException("shared storage root '" + r
                        + "' must be an absolute path without '..'");
            }
            if (n.equals("/")) {
                throw new IllegalArgumentException("shared storage root '/' would allow every host path");
            }
            roots.add(n);
        }
        sharedStorage = List.copyOf(roots);
        for (String e : Objects.requireNonNull(emulators, "emulators")) {
            if (normalise(e) == null || !normalise(e).equals(e)) {
                throw new IllegalArgumentException("emulator '" + e + "' must be a normalised absolute path");
            }
        }
        emulators = Set.copyOf(new TreeSet<>(emulators));
    }

    /** No shared storage and no passthrough: only domains without host paths pass. */
    public static DomainPolicy none() {
        return new DomainPolicy(List.of(), false, DEFAULT_EMULATORS);
    }

    /**
     * Why a host must not define {@code spec}, or null when it may: its name, and its domain XML
     * against this policy (every problem up to five, each naming the element).
     */
    public String refusal(VmSpec spec) {
        String bad = nameProblem(spec.name());
        if (bad != null) {
            return bad;
        }
        if (spec.domainXml() == null || spec.domainXml().isBlank()) {
            return "VM " + spec.id() + " has no domain XML";
        }
        Element root;
        try {
            root = SafeXml.root(spec.domainXml());
        } catch (IllegalArgumentException e) {
            return "the domain XML of " + spec.id() + ": " + e.getMessage();
        }
        List<String> problems = new ArrayList<>();
        if (root.getNamespaceURI() != null || !"domain".equals(root.getLocalName())) {
            problems.add("the root element is <" + root.getTagName() + ">, not <domain>");
        } else {
            String name = Dom.text(root, "name");
            if (!spec.name().equals(name)) {
                problems.add("<name> is '" + printable(name) + "', but the VM's name is '" + spec.name() + "'");
            }
            String uuid = Dom.text(root, "uuid");
            if (uuid != null && !canonicalUuid(uuid).equals(canonicalUuid(spec.id().value()))) {
                problems.add("<uuid> is " + printable(uuid) + ", but the VM's id is " + spec.id());
            }
            problems.addAll(new DomainCheck(this).problems(root));
        }
        if (problems.isEmpty()) {
            return null;
        }
        List<String> shown = problems.subList(0, Math.min(MAX_PROBLEMS, problems.size()));
        return "the domain XML of " + spec.id() + " is refused: " + String.join("; ", shown)
                + (problems.size() > shown.size() ? "; and " + (problems.size() - shown.size()) + " more" : "");
    }

    /** Why {@code name} is no valid VM name, or null. */
    public static String nameProblem(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            return "invalid VM name '" + printable(name) + "': use 1-100 letters, digits, '.', '_', '-', '+', ':' "
                    + "or '@', starting with a letter or digit";
        }
        return null;
    }

    /** The UUID without dashes, lower case: libvirt accepts both spellings of the same UUID. */
    public static String canonicalUuid(String uuid) {
        return uuid.replace("-", "").toLowerCase(Locale.ROOT);
    }

    /** Whether {@code path} (absolute, normalised, no '..') lies strictly under a shared storage root. */
    boolean shared(String path) {
        String n = normalise(path);
        return n != null && sharedStorage.stream().anyMatch(r -> n.startsWith(r + "/"));
    }

    /**
     * {@code path} with repeated slashes and "." segments removed; null when it is not absolute,
     * holds a ".." segment or a control character.
     */
    static String normalise(String path) {
        if (path == null || !path.startsWith("/") || path.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        for (String seg : path.split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                return null;
            }
            out.append('/').append(seg);
        }
        return out.length() == 0 ? "/" : out.toString();
    }

    /** {@code s} with control characters shown as {@code \\uXXXX}, for messages. */
    public static String printable(String s) {
        if (s == null) {
            return "(none)";
        }
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.toString();
    }
}
