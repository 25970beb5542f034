package io.havn.daemon.fence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FenceDeviceTest {
    private static FenceDevice ipmi() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("ip", "10.0.0.9");
        o.put("username", "admin");
        o.put("password", "hunter22");
        o.put("snmp_priv_passwd", "other-secret");
        o.put("lanplus", "1");
        return new FenceDevice("/usr/sbin/fence_ipmilan", o);
    }

    @Test
    void inputIsTheOptionsInOrderThenTheAction() {
        String in = new String(ipmi().input("off"), StandardCharsets.UTF_8);
        assertEquals("ip=10.0.0.9\nusername=admin\npassword=hunter22\nsnmp_priv_passwd=other-secret\nlanplus=1\naction=off\n", in);
    }

    @Test
    void toStringAndRedactHideSecrets() {
        FenceDevice d = ipmi();
        assertFalse(d.toString().contains("hunter22"), d.toString());
        assertFalse(d.toString().contains("other-secret"), d.toString());
        assertTrue(d.toString().contains("ip=10.0.0.9"), d.toString());
        assertEquals("login with *** and *** failed", d.redact("login with hunter22 and other-secret failed"));
    }

    @Test
    void everyValueNotKnownToBeHarmlessIsHiddenWhateverItsOptionIsCalled() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("ipaddr", "10.0.0.9");
        o.put("login", "admin");
        o.put("port", "vm-7");
        o.put("ssl-insecure", "1");
        o.put("community", "cm-Zq81-private");
        o.put("key", "0x5ec7e7");
        o.put("hexadecimal_kg", "a1b2c3d4");
        o.put("secret_key", "sk-3");
        o.put("an_option_of_some_agent", "v-Pl4");
        FenceDevice d = new FenceDevice("/usr/sbin/fence_apc_snmp", o);
        assertEquals("FenceDevice[agent=/usr/sbin/fence_apc_snmp, options={ipaddr=10.0.0.9, login=admin, port=vm-7, "
                + "ssl-insecure=1, community=***, key=***, hexadecimal_kg=***, secret_key=***, an_option_of_some_agent=***}]",
                d.toString());
        assertEquals("snmpget -c *** 10.0.0.9 (key ***, kg ***, ***, ***) on vm-7",
                d.redact("snmpget -c cm-Zq81-private 10.0.0.9 (key 0x5ec7e7, kg a1b2c3d4, sk-3, v-Pl4) on vm-7"));
        assertFalse(FenceDevice.isSecret("IP"), "names are matched without case");
        assertTrue(FenceDevice.isSecret("passwd_script"), "a script that prints the password tells where it is");
    }

    @Test
    void aSecretThatHoldsAShorterOneIsHiddenWhole() {
        FenceDevice d = new FenceDevice("/usr/sbin/fence_x", new LinkedHashMap<>(Map.of("a", "abc", "b", "xabcx")));
        assertEquals("[***] [***]", d.redact("[xabcx] [abc]"));
    }

    @Test
    void optionsThatWouldBreakTheProtocolAreRejectedWithTheirName() {
        IllegalArgumentException action = assertThrows(IllegalArgumentException.class,
                () -> new FenceDevice("fence_ipmilan", Map.of("action", "reboot")));
        assertTrue(action.getMessage().contains("'action'"), action.getMessage());
        IllegalArgumentException newline = assertThrows(IllegalArgumentException.class,
                () -> new FenceDevice("fence_ipmilan", Map.of("ip", "10.0.0.9\naction=on")));
        assertTrue(newline.getMessage().contains("'ip'"), newline.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new FenceDevice("fence_ipmilan", Map.of("bad key", "x")));
        assertThrows(IllegalArgumentException.class, () -> new FenceDevice(" ", Map.of()));
    }

    @Test
    void aBareAgentNameIsLookedUpWhereDebianInstallsAgents() {
        assertEquals(Path.of("/usr/sbin/fence_redfish"), FenceAgentFencer.agentPath("fence_redfish"));
        assertEquals(Path.of("/opt/fence/fence_x"), FenceAgentFencer.agentPath("/opt/fence/fence_x"));
    }
}
