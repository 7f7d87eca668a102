// SPDX-License-Identifier: GPL-2.0
/*
 * mpmud: readies a KVM host for the mediated vPMU before libvirt starts VMs
 * (SPEC §5).  Shaped like a systemd daemon: parse arguments → load config →
 * preflight (module, arm, drain) → event loop (signals, watchdog, netlink)
 * → READY=1 → loop → STOPPING=1 → restore.
 *
 * The kernel holds the truth: mpmud keeps no state that a restart could
 * lose; it reads the module's status after every transition it is told of.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "mpmud.h"

const char *argp_program_version = "mpmud " MPMU_TOOLS_VERSION;
const char *argp_program_bug_address = "the mediated_pmu project's issue tracker";

static const struct argp_option options[] = {
	{ "config", 'c', "FILE", 0, "configuration file (default: " MPMU_CONFIG_FILE ")", 0 },
	{ "config-dir", 'd', "DIR", 0, "drop-in directory (default: " MPMU_CONFIG_DIR ")", 0 },
	{ "check-config", 'n', NULL, 0, "check the configuration, print it, and exit", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

struct args {
	const char *config_file;
	const char *config_dir;
	bool check_only;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;

	switch (key) {
	case 'c':
		a->config_file = arg;
		break;
	case 'd':
		a->config_dir = arg;
		break;
	case 'n':
		a->check_only = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.doc = "Ready the host for KVM's mediated vPMU before VMs start: arm the mediated_pmu "
	       "module, drain conflicting perf events, follow and log its transitions.",
};

/* --- configuration --- */

static int load_config(struct mpmud *d, struct mpmu_config *cfg)
{
	char err[MPMU_CONFIG_ERR_LEN];
	struct log_fields f = { .event = "config_error", .pid = getpid(), .comm = "mpmud" };

	if (!mpmu_config_load(cfg, d->config_file, d->config_dir, err, sizeof(err)))
		return 0;
	log_event(LOG_ERR, &f, "%s", err);
	return -EINVAL;
}

static void print_config(const struct mpmu_config *cfg)
{
	printf("arm = %s\n", cfg->arm ? "yes" : "no");
	printf("drain = %s\n", mpmu_drain_policy_name(cfg->drain));
	printf("drain_timeout = %gs\n", cfg->drain_timeout);
	printf("restore_on_stop = %s\n", cfg->restore_on_stop ? "yes" : "no");
	printf("textfile = %s\n", cfg->textfile);
	printf("log_level = %s\n", mpmu_log_level_name(cfg->log_level));
}

/* --- the module: connect, arm, follow --- */

static void disconnect(struct mpmud *d)
{
	d->watch_io = sd_event_source_disable_unref(d->watch_io);
	mpmu_close(d->watch);
	mpmu_close(d->client);
	d->watch = d->client = NULL;
	d->st = (struct mpmu_status) { .valid = false };
}

static int arm(struct mpmud *d)
{
	int ret;

	if (!d->cfg.arm || !d->client)
		return 0;
	ret = mpmu_set_enabled(d->client, true);
	if (ret == -EOPNOTSUPP) {
		/* Observe mode: KVM uses the kernel's own knob, nothing to arm. */
		log_msg(LOG_INFO, "not arming: the kernel's own mediated PMU knob decides (observe mode)");
		return 0;
	}
	if (ret)
		log_msg(LOG_ERR, "cannot arm arbitration (set enabled): %s%s", strerror(-ret),
			ret == -EPERM ? " (mpmud needs CAP_SYS_ADMIN and CAP_NET_ADMIN)" : "");
	return ret;
}

static int on_note(const struct mpmu_note *n, void *data)
{
	struct mpmud *d = data;

	if (d->have_seq && n->seq > d->last_seq + 1)
		log_msg(LOG_WARNING, "missed %llu notifications (receive buffer overrun); the status is re-read from the module",
			(unsigned long long)(n->seq - d->last_seq - 1));
	d->last_seq = n->seq;
	d->have_seq = true;
	log_note(n);
	return 0;
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct mpmud *d = data;
	int ret;

	(void)s;
	(void)fd;
	(void)revents;
	ret = mpmu_watch_read(d->watch, on_note, d);
	if (ret)
		log_msg(LOG_WARNING, "reading notifications: %s", strerror(-ret));
	d->dirty = true;
	return 0;
}

static int connect_module(struct mpmud *d)
{
	int ret;

	d->have_seq = false;
	ret = mpmu_open(&d->client);
	if (ret >= 0) {
		mpmu_set_root(d->client, d->root);
		ret = mpmu_open(&d->watch);
	}
	if (ret >= 0)
		ret = mpmu_watch_start(d->watch);
	if (ret >= 0)
		ret = sd_event_add_io(d->loop, &d->watch_io, mpmu_fd(d->watch), EPOLLIN,
				      on_watch, d);
	if (ret >= 0)
		return 0;
	disconnect(d);
	return ret;
}

/* The module went (wait for it) or came back (reconnect, arm it). */
static int on_monitor(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	enum mpmu_family_change change;
	struct mpmud *d = data;
	int ret;

	(void)s;
	(void)fd;
	(void)revents;
	ret = mpmu_monitor_read(d->monitor, &change);
	if (ret)
		log_msg(LOG_WARNING, "reading netlink family changes: %s", strerror(-ret));
	if (change == MPMU_FAMILY_UNCHANGED)
		return 0;
	disconnect(d);
	d->dirty = true;
	if (change == MPMU_FAMILY_REMOVED) {
		log_msg(LOG_WARNING, "the mediated_pmu module was unloaded; waiting for it to come back");
		return 0;
	}
	ret = connect_module(d);
	if (ret) {
		log_msg(LOG_ERR, "cannot reconnect to the mediated_pmu module: %s", strerror(-ret));
		return 0;
	}
	ret = arm(d);
	log_msg(LOG_NOTICE, "the mediated_pmu module is back; reconnected%s",
		d->cfg.arm && !ret ? " and armed" : "");
	return 0;
}

/*
 * --- STATUS= and the textfile ---
 * Refreshed once per loop iteration when something changed (a post source
 * runs after the iteration's other sources): a burst of notifications costs
 * one status request.
 */

static bool kvm_hooks_failed(const struct mpmu_status *st)
{
	return st->valid && st->kvm_hooks_known && st->kvm_hooks == MPMU_KVM_HOOKS_FAILED;
}

static void status_text(const struct mpmud *d, char *buf, size_t size)
{
	const struct mpmu_status *st = &d->st;
	char hooks[MPMU_SYMBOL_LEN + 64];
	int len;

	if (!d->client) {
		snprintf(buf, size, "mediated_pmu module not loaded; waiting for it");
	} else if (!st->valid) {
		snprintf(buf, size, "cannot read the mediated_pmu module's status");
	} else if (st->mode == MPMU_MODE_OBSERVE) {
		snprintf(buf, size, "observing the kernel's own knob: %u VM%s it; %u blocking event%s",
			 st->refcount, st->refcount == 1 ? " holds" : "s hold",
			 st->include_guest_events, st->include_guest_events == 1 ? "" : "s");
	} else if (kvm_hooks_failed(st)) {
		mpmu_kvm_hooks_text(st, hooks, sizeof(hooks));
		snprintf(buf, size, "KVM hooks %s: VMs bypass the mediated PMU knob", hooks);
	} else if (!st->enabled) {
		snprintf(buf, size, "arbitration disabled; %u include-guest event%s",
			 st->include_guest_events, st->include_guest_events == 1 ? "" : "s");
	} else {
		len = snprintf(buf, size, "%u VM%s the mediated PMU; %u blocking event%s",
			       st->refcount, st->refcount == 1 ? " holds" : "s hold",
			       st->include_guest_events, st->include_guest_events == 1 ? "" : "s");
		if (st->settling && len > 0 && (size_t)len < size)
			snprintf(buf + len, size - len, "; %u perf call%s settling",
				 st->settling, st->settling == 1 ? "" : "s");
	}
}

/*
 * A loaded KVM the module could not hook is arbitrated by nobody: said
 * once at error level when it is seen, and again if it recurs after the
 * hooks were armed.
 */
static void log_kvm_hooks(struct mpmud *d)
{
	char hooks[MPMU_SYMBOL_LEN + 64];
	bool failed = kvm_hooks_failed(&d->st);

	if (failed && !d->kvm_failed_said) {
		mpmu_kvm_hooks_failure(&d->st, hooks, sizeof(hooks));
		log_msg(LOG_ERR, "the mediated_pmu module could not hook KVM (%s): VMs created now bypass the knob; see the kernel log, then reload the module",
			hooks);
	} else if (!failed && d->kvm_failed_said && d->st.valid) {
		log_msg(LOG_NOTICE, "the mediated_pmu module hooks KVM again");
	}
	if (d->st.valid)
		d->kvm_failed_said = failed;
}

/*
 * The textfile tells what the module says, or nothing: it is removed while
 * the module is away or its status cannot be read, and when mpmud stops or
 * is told to write elsewhere, so that node_exporter never serves stale
 * numbers as current.
 */
static void update_textfile(struct mpmud *d)
{
	int ret;

	if (!*d->cfg.textfile)
		return;
	if (!d->st.valid) {
		if (unlink(d->cfg.textfile) && errno != ENOENT)
			log_msg(LOG_WARNING, "cannot remove the textfile %s: %s", d->cfg.textfile,
				strerror(errno));
		return;
	}
	ret = mpmu_textfile_write(d->cfg.textfile, &d->st, d->drains);
	if (ret)
		log_msg(LOG_WARNING, "cannot write the textfile %s: %s", d->cfg.textfile,
			strerror(-ret));
}

static int on_refresh(sd_event_source *s, void *data)
{
	struct mpmud *d = data;
	char text[MPMU_SYMBOL_LEN + 192];

	(void)s;
	if (!d->dirty)
		return 0;
	d->dirty = false;
	if (!d->client || mpmu_get_status(d->client, &d->st))
		d->st.valid = false;
	log_kvm_hooks(d);
	status_text(d, text, sizeof(text));
	sd_notifyf(0, "STATUS=%s", text);
	log_msg(LOG_DEBUG, "status: %s", text);
	update_textfile(d);
	return 0;
}

/* --- signals --- */

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *data)
{
	struct mpmud *d = data;
	struct mpmu_config cfg;

	(void)s;
	(void)si;
	sd_notify(0, "RELOADING=1");
	if (load_config(d, &cfg)) {
		log_msg(LOG_ERR, "reload: keeping the previous configuration; fix the file and reload again");
	} else {
		/* Said at the log level in effect until now. */
		log_msg(LOG_NOTICE, "reload: configuration applied (drain policies apply at start only)");
		if (strcmp(cfg.textfile, d->cfg.textfile)) {
			d->st.valid = false;
			update_textfile(d);	/* the old path goes */
		}
		d->cfg = cfg;
		log_set_level(cfg.log_level);
		arm(d);
	}
	d->dirty = true;
	sd_notify(0, "READY=1");
	return 0;
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *data)
{
	struct mpmud *d = data;

	(void)s;
	(void)si;
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	return sd_event_exit(d->loop, 0);
}

static int setup_loop(struct mpmud *d)
{
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* sd-event returns a positive value for some successes: test < 0. */
	ret = sd_event_default(&d->loop);
	if (ret >= 0)
		ret = sd_event_add_signal(d->loop, NULL, SIGTERM, on_stop, d);
	if (ret >= 0)
		ret = sd_event_add_signal(d->loop, NULL, SIGINT, on_stop, d);
	if (ret >= 0)
		ret = sd_event_add_signal(d->loop, NULL, SIGHUP, on_reload, d);
	if (ret >= 0)
		ret = sd_event_add_post(d->loop, NULL, on_refresh, d);
	/* WatchdogSec=: sd-event sends WATCHDOG=1 at half the interval. */
	if (ret >= 0)
		ret = sd_event_set_watchdog(d->loop, true);
	if (ret >= 0)
		ret = mpmu_monitor_open(&d->monitor);
	if (ret >= 0)
		ret = sd_event_add_io(d->loop, NULL, mpmu_fd(d->monitor), EPOLLIN, on_monitor, d);
	return ret < 0 ? ret : 0;
}

/* --- main --- */

static int preflight(struct mpmud *d)
{
	int ret;

	ret = connect_module(d);
	if (ret == -ENOENT) {
		log_msg(LOG_ERR, "the mediated_pmu module is not loaded: run 'modprobe mediated_pmu' and see its error, or check /usr/lib/modules-load.d/mediated_pmu.conf");
		return MPMUD_EXIT_NOMODULE;
	}
	if (ret) {
		log_msg(LOG_ERR, "cannot connect to the mediated_pmu module: %s", strerror(-ret));
		return EXIT_FAILURE;
	}
	ret = arm(d);
	if (ret)
		return ret == -EPERM ? MPMUD_EXIT_NOPERM : EXIT_FAILURE;
	mpmud_drain(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { MPMU_CONFIG_FILE, MPMU_CONFIG_DIR, false };
	struct mpmud d = { .root = getenv("MPMU_ROOT") ? getenv("MPMU_ROOT") : "" };
	enum mpmu_family_change change;
	int ret;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	d.config_file = a.config_file;
	d.config_dir = a.config_dir;
	log_set_journal(!a.check_only);
	if (load_config(&d, &d.cfg))
		return MPMUD_EXIT_CONFIG;
	if (a.check_only) {
		print_config(&d.cfg);
		return 0;
	}
	log_set_level(d.cfg.log_level);

	ret = setup_loop(&d);
	if (ret) {
		log_msg(LOG_ERR, "cannot set up the event loop: %s", strerror(-ret));
		return EXIT_FAILURE;
	}
	ret = preflight(&d);
	if (ret) {
		sd_notify(0, "STATUS=Failed to start (see the journal)");
		goto out;
	}
	/*
	 * The module may have been loaded during preflight (by an admin, or
	 * systemd-modules-load.service): no reason to reconnect once the loop
	 * runs.
	 */
	mpmu_monitor_read(d.monitor, &change);
	d.dirty = true;
	on_refresh(NULL, &d);
	sd_notify(0, "READY=1");
	log_msg(LOG_INFO, "ready: %s, drain policy %s",
		d.st.mode == MPMU_MODE_OBSERVE ? "observing the kernel's own knob" :
		d.st.enabled ? "arbitration armed" : "arbitration not armed",
		mpmu_drain_policy_name(d.cfg.drain));

	ret = sd_event_loop(d.loop);
	if (ret < 0)
		log_msg(LOG_ERR, "event loop failed: %s", strerror(-ret));
	mpmud_restore(&d);
	d.st.valid = false;
	update_textfile(&d);
	ret = ret < 0 ? EXIT_FAILURE : 0;
out:
	disconnect(&d);
	mpmu_close(d.monitor);
	sd_event_unref(d.loop);
	return ret;
}
