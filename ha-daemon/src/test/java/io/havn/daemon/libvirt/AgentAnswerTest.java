package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havn.common.model.VmId;
import io.havn.common.node.NodeEvent.AgentAnswer;
import io.havn.common.node.NodeEvent.AgentPinged;
import java.lang.reflect.Constructor;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error;
import org.libvirt.LibvirtException;
import org.libvirt.jna.virError;

/**
 * How libvirt's refusals of a guest-agent command read: by libvirt's own error numbers, which
 * libvirt-java 0.5.2's enum names wrongly from 60 on and folds into VIR_ERR_UNKNOWN from 80 on.
 * Real refusals come from the test driver where it gives them; those only the QEMU driver gives
 * (VIR_ERR_ARGUMENT_UNSUPPORTED 74, VIR_ERR_AGENT_UNRESPONSIVE 86) are made as libvirt-java makes
 * them from libvirt's virError.
 */
class AgentAnswerTest {
    /** A LibvirtException as libvirt-java builds it from libvirt's last error. */
    private static LibvirtException libvirtError(int code, String message) throws Exception {
        virError v = new virError();
        v.code = code;
        v.domain = 10; // VIR_FROM_QEMU
        v.level = 2;
        v.message = message;
        Constructor<LibvirtException> c = LibvirtException.class.getDeclaredConstructor(Error.class);
        c.setAccessible(true);
        return c.newInstance(new Error(v));
    }

    @Test
    void libvirtJavaNamesLibvirtsNumbersWronglyFromSixtyOnButItsPositionIsTheNumber() throws Exception {
        Connect c = new Connect(LibvirtHypervisorTest.privateUri());
        try {
            Domain d = c.domainDefineXML(LibvirtHypervisorTest.newTestSpec().domainXml());
            LibvirtException e = assertThrows(LibvirtException.class, () -> d.snapshotLookupByName("none"));
            assertEquals(Error.ErrorNumber.VIR_ERR_STORAGE_POOL_BUILT, e.getError().getCode(),
                    "libvirt's VIR_ERR_NO_DOMAIN_SNAPSHOT (72) under libvirt-java's name for position 72");
            assertEquals(72, LibvirtConnection.code(e));
        } finally {
            c.close();
        }
        assertEquals(74, LibvirtConnection.code(libvirtError(74, "QEMU guest agent is not configured")));
        assertEquals(Error.ErrorNumber.VIR_ERR_OPERATION_ABORTED,
                libvirtError(74, "x").getError().getCode(), "libvirt-java's name for libvirt's 74");
        assertEquals(-1, LibvirtConnection.code(libvirtError(86, "Guest agent is not responding")),
                "80 and above cannot be told apart");
    }

    @Test
    void aGuestWithoutAnAgentChannelIsNotJudged() throws Exception {
        assertEquals(AgentAnswer.NOT_CONFIGURED, LibvirtHypervisor.agentAnswer(
                libvirtError(74, "argument unsupported: QEMU guest agent is not configured")));
    }

    @Test
    void anAgentThatDoesNotAnswerIsAMiss() throws Exception {
        assertEquals(AgentAnswer.NO_ANSWER, LibvirtHypervisor.agentAnswer(
                libvirtError(86, "Guest agent is not responding: QEMU guest agent is not connected")));
        assertEquals(AgentAnswer.NO_ANSWER, LibvirtHypervisor.agentAnswer(
                libvirtError(86, "Guest agent is not responding: Guest agent not available for now")));
        assertEquals(AgentAnswer.NO_ANSWER, LibvirtHypervisor.agentAnswer(
                libvirtError(1, "internal error: unable to execute QEMU agent command 'guest-ping'")));
        assertEquals(AgentAnswer.NO_ANSWER, LibvirtHypervisor.agentAnswer(
                libvirtError(70, "a code whose libvirt-java name (ARGUMENT_UNSUPPORTED) is not its meaning")));
    }

    @Test
    void theTestDriversRefusalsReadAsTheyShould() throws Exception {
        Connect c = new Connect(LibvirtHypervisorTest.privateUri());
        try {
            Domain d = c.domainDefineXML(LibvirtHypervisorTest.newTestSpec().domainXml());
            d.create();
            LibvirtException agent = assertThrows(LibvirtException.class,
                    () -> d.qemuAgentCommand("{\"execute\":\"guest-ping\"}", 1, 0));
            assertEquals(3, LibvirtConnection.code(agent), "VIR_ERR_NO_SUPPORT: " + agent.getMessage());
            assertEquals(AgentAnswer.NOT_CONFIGURED, LibvirtHypervisor.agentAnswer(agent),
                    "a driver without agent commands cannot judge a guest");
            d.destroy();
            LibvirtException off = assertThrows(LibvirtException.class, d::destroy);
            assertEquals(55, LibvirtConnection.code(off), "VIR_ERR_OPERATION_INVALID: " + off.getMessage());
            assertEquals(AgentAnswer.NOT_RUNNING, LibvirtHypervisor.agentAnswer(off));
            LibvirtException gone = assertThrows(LibvirtException.class,
                    () -> c.domainLookupByUUIDString(UUID.randomUUID().toString()));
            assertEquals(AgentAnswer.NOT_RUNNING, LibvirtHypervisor.agentAnswer(gone), gone.getMessage());
        } finally {
            c.close();
        }
    }

    @Test
    void aPingThatNeverReachedTheGuestIsNotJudgedAndOneThatHungIsAMiss() {
        VmId vm = VmId.of(UUID.randomUUID().toString());
        assertEquals(new AgentPinged(vm, AgentAnswer.NOT_CONFIGURED, "not judged: rejected: all 4 libvirt workers "
                        + "are busy"),
                LibvirtHypervisor.unanswered(vm, CallRunner.Result.failed("rejected: all 4 libvirt workers are busy")));
        assertEquals(new AgentPinged(vm, AgentAnswer.NO_ANSWER, "timed out after 1000 ms"),
                LibvirtHypervisor.unanswered(vm, new CallRunner.Result<>(null, "timed out after 1000 ms", true)));
    }
}
