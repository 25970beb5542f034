package io.havn.daemon.ctl;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Rule;
import io.havn.common.node.AdminCommand;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code havnctl group}: the named host groups that host rules ({@code rule add hosts}) name. The
 * leader checks that every host exists and refuses to remove a group a rule still names.
 */
@Command(name = "group", description = "Host groups, which 'rule add hosts' names: set one, remove one, list them.")
final class GroupCommand {
    @ParentCommand
    Havnctl ctl;

    @Command(name = "set", description = "Make host group NAME, or replace its hosts.")
    int set(@Parameters(index = "0", paramLabel = "NAME", description = "the group's name") String name,
            @Parameters(index = "1..*", arity = "1..*", paramLabel = "HOST", description = "its hosts")
            List<HostId> hosts) {
        checkName(name);
        return ctl.change(Havnctl.command(new AdminCommand.GroupSet(name, hosts)));
    }

    @Command(name = "remove", description = "Remove host group NAME.")
    int remove(@Parameters(paramLabel = "NAME", description = "the group's name") String name) {
        checkName(name);
        return ctl.change(Havnctl.command(new AdminCommand.GroupRemove(name)));
    }

    @Command(name = "list", description = {"The host groups: their hosts and the rules that name them. With --json: "
            + "the groups as the cluster record holds them."})
    int list() {
        ClusterState s = ctl.state();
        if (ctl.json) {
            ctl.out.println(Json.toJson(s.cluster().placement().groups()));
        } else {
            ctl.out.print(new RuleView(s).groups());
        }
        return 0;
    }

    private static void checkName(String name) {
        if (!Rule.NAME.matcher(name).matches()) {
            throw Failure.usage("invalid group name '" + name + "': letters, digits, '.', '_' and '-', up to 64, "
                    + "starting with a letter or digit");
        }
    }
}
