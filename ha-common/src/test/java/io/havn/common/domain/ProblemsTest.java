package io.havn.common.domain;

import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules every part of the check applies: host paths, passthrough, the plain net, unlisted elements. */
class ProblemsTest extends RuleTable {
    @Override
    void check(Problems problems, Element root) {
        String where = "<" + root.getLocalName() + ">";
        switch (where) {
            case "<p>" -> problems.textPath(root, where);
            default -> problems.plain(root, where);
        }
    }

    /** {@code <p>}'s text as a host path, any other element as a plain one. */
    @Override
    Stream<Arguments> rows() {
        return Stream.of(
                ok("<p>/srv/shared/a.qcow2</p>"),
                ok("<p>//srv/./shared//a</p>"),
                bad("<p>/srv/sharedX/a</p>", "<p> /srv/sharedX/a is not on shared storage (/srv/shared)"),
                bad("<p>/srv/shared</p>", "/srv/shared is not on shared storage"),
                bad("<p>/srv/shared/../etc/shadow</p>", "'/srv/shared/../etc/shadow' is refused: a host path must "
                        + "be absolute, without '..'"),
                bad("<p>srv/shared/a</p>", "absolute"),
                bad("<p>/srv/shared/a&#10;b</p>", "\\u000a"),
                ok("<p>  </p>"), // no text, no path
                // below an element that names no host path
                ok("<video><model type='virtio' heads='1'><acceleration accel3d='no'/></model></video>"),
                ok("<x><target dev='vda'/></x>"),
                bad("<x path='/srv/shared/a'/>", "<x> attribute path='/srv/shared/a' is refused: it names a host"),
                bad("<x><y><z file='/a'/></y></x>", "<x><y><z> attribute file='/a'"),
                bad("<x socket='/run/s'/>", "attribute socket"),
                bad("<x><source dev='/dev/sda'/></x>", "<x><source> attribute dev='/dev/sda'"),
                bad("<x><device dev='/dev/sda'/></x>", "<x><device> attribute dev"),
                bad("<x><script>/bin/sh</script></x>", "<x><script> is refused here: it names a host path"),
                bad("<x><y><binary/></y></x>", "<x><y><binary> is refused here"),
                bad("<x><seclabel relabel='no'/></x>", "<x><seclabel> is refused here"));
    }

    @Test
    void withoutSharedStorageNoHostPathPassesAndTheRefusalSaysSo() {
        Problems p = new Problems(DomainPolicy.none());
        p.hostPath("<x>", "/srv/shared/a");
        assertNames("/srv/shared/a is not on shared storage (none configured)", p.all());
    }

    @Test
    void anAttributePathIsCheckedOnlyWhenTheAttributeIsThere() {
        Problems p = new Problems(SHARED);
        p.attributePath(SafeXml.root("<rom bar='on'/>"), "file", "<rom> file");
        assertNames(null, p.all());
        p.attributePath(SafeXml.root("<rom file='/etc/x'/>"), "file", "<rom> file");
        assertNames("<rom> file /etc/x is not on shared storage", p.all());
    }

    @Test
    void passthroughIsRefusedUnlessThePolicyAllowsIt() {
        Problems refusing = new Problems(SHARED);
        refusing.passthrough("<hostdev>");
        assertNames("<hostdev> passes a host device through, which this host does not allow "
                + "(libvirt.allowPassthrough)", refusing.all());
        Problems allowing = new Problems(PASSTHROUGH);
        allowing.passthrough("<hostdev>");
        assertNames(null, allowing.all());
    }

    @Test
    void aListedChildIsPlainAndAnyOtherIsRefused() {
        Problems p = new Problems(SHARED);
        p.listed(SafeXml.root("<a x='1'/>"), "<p>", Set.of("a"));
        assertNames(null, p.all());
        p.listed(SafeXml.root("<a path='/x'/>"), "<p>", Set.of("a"));
        assertNames("<p><a> attribute path", p.all());
        p.listed(SafeXml.root("<b/>"), "<p>", Set.of("a"));
        assertNames("<p><b> is refused: havn accepts only the domain XML elements it knows", p.all());
    }
}
