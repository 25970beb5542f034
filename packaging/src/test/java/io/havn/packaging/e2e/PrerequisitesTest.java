package io.havn.packaging.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrerequisitesTest {
    /** What the JDK running the test brings, so no package is named for it. */
    private static final Set<String> FROM_THE_JDK = Set.of("java", "keytool");

    @Test
    void everyCommandTheHarnessChecksForHasAPackageThatBringsIt() throws IOException {
        String script = Files.readString(Harness.moduleDir().resolve("src/e2e/e2e.sh"));
        Matcher m = Pattern.compile("check_machine\\(\\) \\{.*?for c in ([^;]+);", Pattern.DOTALL).matcher(script);
        assertTrue(m.find(), "e2e.sh's check_machine lists the commands it needs in a for loop");
        List<String> checked = Arrays.stream(m.group(1).trim().split("\\s+"))
                .filter(c -> !FROM_THE_JDK.contains(c)).toList();
        assertEquals(Set.copyOf(checked), Prerequisites.PACKAGE_OF_COMMAND.keySet(),
                "the commands e2e.sh checks for and those Prerequisites can install");
    }

    @Test
    void missingCommandsNameTheirPackagesOnceInTheInstallCommand(@TempDir Path bin) throws IOException {
        for (String present : List.of("ip", "nft", "nsenter", "unshare", "setsid", "flock", "pgrep", "curl", "awk",
                "qemu-img")) {
            Path p = Files.createFile(bin.resolve(present));
            assertTrue(p.toFile().setExecutable(true));
        }
        Prerequisites.Missing missing = Prerequisites.missing(List.of(bin), file -> false);

        assertEquals(Set.of("libvirt-daemon", "libvirt-clients", "qemu-system-x86", "tgt", "libvirt-daemon-driver-qemu",
                "qemu-block-extra"), missing.packages());
        assertEquals(List.of("libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "tgtd", "tgtadm",
                "libvirt's QEMU driver", "QEMU's iSCSI block driver"), missing.what());
        assertEquals("apt-get install -y --no-install-recommends libvirt-daemon libvirt-clients qemu-system-x86 tgt "
                + "libvirt-daemon-driver-qemu qemu-block-extra", missing.installCommand());
    }

    @Test
    void aFileThatIsThereIsNotMissing(@TempDir Path bin) {
        Prerequisites.Missing missing = Prerequisites.missing(List.of(bin),
                file -> !file.equals(Prerequisites.QEMU_ISCSI));
        assertTrue(missing.what().contains("QEMU's iSCSI block driver"), missing.what().toString());
        assertTrue(missing.packages().contains("qemu-block-extra"), missing.packages().toString());
        Prerequisites.Missing none = Prerequisites.missing(List.of(bin), file -> true);
        assertTrue(!none.what().contains("QEMU's iSCSI block driver") && !none.packages().contains("qemu-block-extra"),
                none.what().toString());
    }

    @Test
    void everyFileTheHarnessChecksForIsOneThatPrerequisitesKnows() throws IOException {
        String script = Files.readString(Harness.moduleDir().resolve("src/e2e/e2e.sh"));
        Matcher m = Pattern.compile("^QEMU_ISCSI_MODULE=(\\S+)$", Pattern.MULTILINE).matcher(script);
        assertTrue(m.find(), "e2e.sh names the QEMU iSCSI module it checks for");
        assertEquals(Prerequisites.QEMU_ISCSI, Path.of(m.group(1)));
    }

    @Test
    void pathKeepsItsOrderAndTheSbinDirectoriesItLacksComeAfter() {
        assertEquals(List.of(Path.of("/opt/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/sbin"), Path.of("/sbin")),
                Prerequisites.searchPath("/opt/bin::/usr/sbin"));
        assertEquals("/opt/bin:/usr/local/sbin:/usr/sbin:/sbin", Prerequisites.harnessPath("/opt/bin"));
    }
}
