package io.havn.daemon.watchdog;

import java.io.IOException;

/**
 * The petter process, shutdown hook and all, on a plain file (through libc, like the real device)
 * whose "driver" takes any timeout: for tests that run the petter as a process on a machine
 * without /dev/watchdog.
 */
final class PetterOnPlainFile implements WatchdogDevice {
    private final LinuxWatchdogDevice file;
    private int timeoutSeconds = 60;

    private PetterOnPlainFile(LinuxWatchdogDevice file) {
        this.file = file;
    }

    public static void main(String[] args) {
        int rc = WatchdogPetter.runProcess(args, p -> new PetterOnPlainFile(LinuxWatchdogDevice.open(p)));
        if (rc != 0) {
            System.exit(rc);
        }
    }

    @Override
    public void setTimeoutSeconds(int seconds) {
        timeoutSeconds = seconds;
    }

    @Override
    public int timeoutSeconds() {
        return timeoutSeconds;
    }

    @Override
    public void write(byte b) throws IOException {
        file.write(b);
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
