package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The petter's start on a fake device: W set and read back, or the device disarmed and refused. */
class ArmingTest {
    private static final Path DEV = Path.of("/dev/watchdog");

    @Test
    void aDeviceThatTakesWIsArmedWithTheTimeoutReadBack() throws Exception {
        FakeDevice d = new FakeDevice();
        Arming.Armed a = Arming.arm(d.at(DEV), DEV, 3_000, 1_000);
        assertSame(d, a.device());
        assertEquals(3_000, a.timeoutMs());
        assertEquals("", d.written(), "nothing written: armed and running");
        assertFalse(d.closed());
    }

    @Test
    void wIsAskedForInWholeSecondsRoundedDownNeverLonger() throws Exception {
        FakeDevice d = new FakeDevice();
        assertEquals(3_000, Arming.arm(d.at(DEV), DEV, 3_999, 1_000).timeoutMs());
    }

    @Test
    void aDeviceThatRefusesTheTimeoutIsDisarmedAndRefusedNamingItAndW() {
        FakeDevice d = new FakeDevice().refusingSet();
        Arming.Refused r = assertThrows(Arming.Refused.class, () -> Arming.arm(d.at(DEV), DEV, 3_000, 1_000));
        assertTrue(r.getMessage().contains("/dev/watchdog") && r.getMessage().contains("3000 ms")
                && r.getMessage().contains("Inappropriate ioctl"), r.getMessage());
        assertEquals("V", d.written(), "the magic close: nothing is guarded yet");
        assertTrue(d.closed());
    }

    @Test
    void aDeviceThatKeepsALongerTimeoutIsRefusedWithBothValues() {
        FakeDevice d = new FakeDevice().setting(s -> 60); // a driver that ignores what it is asked for
        Arming.Refused r = assertThrows(Arming.Refused.class, () -> Arming.arm(d.at(DEV), DEV, 3_000, 1_000));
        assertTrue(r.getMessage().contains("/dev/watchdog") && r.getMessage().contains("60000 ms")
                && r.getMessage().contains("3000 ms"), r.getMessage());
        assertEquals("V", d.written());
        assertTrue(d.closed());
    }

    @Test
    void aDeviceThatRoundsUpPastWIsRefused() {
        FakeDevice d = new FakeDevice().setting(s -> s + 1); // hardware of coarser steps
        Arming.Refused r = assertThrows(Arming.Refused.class, () -> Arming.arm(d.at(DEV), DEV, 3_000, 1_000));
        assertTrue(r.getMessage().contains("4000 ms"), r.getMessage());
        assertEquals("V", d.written());
    }

    @Test
    void aTimeoutThatCannotBeReadBackIsRefused() {
        FakeDevice d = new FakeDevice().refusingGet();
        Arming.Refused r = assertThrows(Arming.Refused.class, () -> Arming.arm(d.at(DEV), DEV, 3_000, 1_000));
        assertTrue(r.getMessage().contains("cannot be read back") && r.getMessage().contains("3000 ms"), r.getMessage());
        assertEquals(1, d.setCalls);
        assertEquals("V", d.written());
        assertTrue(d.closed());
    }

    @Test
    void aTimeoutTooShortForThePettingIntervalIsRefused() {
        FakeDevice d = new FakeDevice().setting(s -> 1); // shorter than asked: safe, but pets would come too late
        Arming.Refused r = assertThrows(Arming.Refused.class, () -> Arming.arm(d.at(DEV), DEV, 3_000, 1_000));
        assertTrue(r.getMessage().contains("1000 ms") && r.getMessage().contains("--interval-ms"), r.getMessage());
        assertEquals("V", d.written());
    }

    @Test
    void aDeviceThatCannotBeOpenedArmsNothing() {
        FakeDevice d = new FakeDevice();
        assertThrows(NoSuchFileException.class, () -> Arming.arm(d.at(DEV), Path.of("/dev/watchdog1"), 3_000, 1_000));
        assertEquals(0, d.setCalls);
    }
}
