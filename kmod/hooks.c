// SPDX-License-Identifier: GPL-2.0
/*
 * Where the policy meets a stock kernel: ftrace-based kprobes.
 *
 *   kvm_arch_init_vm()           kprobe: get, or refuse with -EBUSY
 *   kvm_arch_free_vm()           kprobe: put.  Called once for every VM,
 *                                after kvm_arch_destroy_vm() (the vCPUs, and
 *                                KVM's own counters, are gone by then) and
 *                                on every kvm_create_vm() error path, also
 *                                when kvm_arch_init_vm() failed after get
 *   security_perf_event_alloc()  kprobe: count, or refuse with -EOPNOTSUPP;
 *                                the LSM hook is skipped when refusing, so
 *                                nothing it would allocate leaks
 *                                kretprobe: uncount when the LSM said no
 *                                (not armed for exclude-guest events)
 *   security_perf_event_free()   kprobe: uncount (every event that passed
 *                                security_perf_event_alloc() gets here once)
 *   perf_event_create_kernel_counter()
 *                                kretprobe: marks the calling task, so that
 *                                the events it allocates are kernel-owned
 *
 * Refusing: the pre-handler points regs->ip at a function that returns the
 * error and returns 1, so the probed function never runs (Debian kernels
 * have no CONFIG_FUNCTION_ERROR_INJECTION).
 *
 * kvm.ko may come and go: its probes are armed when it comes (module
 * notifier, MODULE_STATE_COMING, where its symbols resolve) and disarmed
 * when it goes.  Handlers only call into core.c, which never sleeps.
 */
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>

#include "mpmu.h"

/*
 * Return probes keep one instance per caller inside the function; the LSM
 * hook and kernel-counter creation may sleep.  A miss is counted (nmissed)
 * and logged at unload.
 */
#define PERF_MAXACTIVE_MIN	256
#define PERF_MAXACTIVE_PER_CPU	16

#ifdef MPMU_FAULT_INJECT
/*
 * Debug builds only: stay this long in the refusal stub, preemptible, so
 * that the tests can unload the module while a task runs there.
 */
static unsigned int refuse_delay_ms;
module_param(refuse_delay_ms, uint, 0600);
MODULE_PARM_DESC(refuse_delay_ms, "debug: busy-wait in the VM refusal stub (ms)");
#define refuse_delay()	mdelay(READ_ONCE(refuse_delay_ms))

/*
 * Debug builds only, for make bench's account of where the instructions
 * go: the perf probes fire but their handlers return at once (what the
 * probes themselves cost), and the return probe on the LSM hook is
 * registered disabled (LSM refusals then go uncounted).
 */
static bool bench_probes_only;
module_param(bench_probes_only, bool, 0400);
MODULE_PARM_DESC(bench_probes_only, "debug: perf probe handlers do nothing");
static bool bench_no_return_probe;
module_param(bench_no_return_probe, bool, 0400);
MODULE_PARM_DESC(bench_no_return_probe, "debug: no return probe on the LSM hook");
#else
#define refuse_delay()	do { } while (0)
#define bench_probes_only	false
#define bench_no_return_probe	false
#endif

static noinline int mpmu_refuse_ebusy(void)
{
	refuse_delay();
	return -EBUSY;
}

static noinline int mpmu_refuse_eopnotsupp(void)
{
	return -EOPNOTSUPP;
}

static noinline int mpmu_refuse_enomem(void)
{
	return -ENOMEM;
}

/* Make the probed function return @err without running.  */
static int refuse(struct pt_regs *regs, int err)
{
	int (*fn)(void) = mpmu_refuse_enomem;

	if (err == -EBUSY)
		fn = mpmu_refuse_ebusy;
	else if (err == -EOPNOTSUPP)
		fn = mpmu_refuse_eopnotsupp;
	regs->ax = err;
	instruction_pointer_set(regs, (unsigned long)fn);
	return 1;
}

/* The first argument, saved at entry for the return handler. */
static int save_arg0(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(void **)ri->data = (void *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static void *saved_arg0(struct kretprobe_instance *ri)
{
	return *(void **)ri->data;
}

static bool failed(struct pt_regs *regs)
{
	return (int)regs_return_value(regs) != 0;
}

/* --- KVM --- */

static int vm_init_pre(struct kprobe *p, struct pt_regs *regs)
{
	int err = mpmu_vm_create((void *)regs_get_kernel_argument(regs, 0));

	return err ? refuse(regs, err) : 0;
}

static int vm_free_pre(struct kprobe *p, struct pt_regs *regs)
{
	mpmu_vm_destroy((void *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static struct kprobe kp_vm_init = {
	.symbol_name = "kvm_arch_init_vm",
	.pre_handler = vm_init_pre,
};

static struct kprobe kp_vm_free = {
	.symbol_name = "kvm_arch_free_vm",
	.pre_handler = vm_free_pre,
};

/* --- perf --- */

static int event_alloc_pre(struct kprobe *p, struct pt_regs *regs)
{
	int err;

	if (bench_probes_only)
		return 0;
	err = mpmu_event_create((void *)regs_get_kernel_argument(regs, 0));
	return err ? refuse(regs, err) : 0;
}

/*
 * An exclude-guest event is never counted: no return probe for it (saves
 * taking and returning an instance on every such perf_event_open()).  Its
 * attr cannot change in between, unlike the guarded PMUs.
 */
static int event_alloc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct perf_event *event = (void *)regs_get_kernel_argument(regs, 0);

	if (event->attr.exclude_guest)
		return 1;
	return save_arg0(ri, regs);
}

static int event_alloc_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (failed(regs))
		mpmu_event_destroy(saved_arg0(ri));
	return 0;
}

static int event_free_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (!bench_probes_only)
		mpmu_event_destroy((void *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static int kernel_counter_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mpmu_kernel_counter_begin();
	return 0;
}

static int kernel_counter_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mpmu_kernel_counter_end();
	return 0;
}

static struct kprobe kp_event_alloc = {
	.symbol_name = "security_perf_event_alloc",
	.pre_handler = event_alloc_pre,
};

static struct kretprobe krp_event_alloc = {
	.kp.symbol_name = "security_perf_event_alloc",
	.entry_handler = event_alloc_entry,
	.handler = event_alloc_ret,
	.data_size = sizeof(void *),
};

static struct kprobe kp_event_free = {
	.symbol_name = "security_perf_event_free",
	.pre_handler = event_free_pre,
};

static struct kretprobe krp_kernel_counter = {
	.kp.symbol_name = "perf_event_create_kernel_counter",
	.entry_handler = kernel_counter_entry,
	.handler = kernel_counter_ret,
};

/* --- registration --- */

struct hook {
	struct kprobe *kp;
	struct kretprobe *krp;
};

/* Return probes before entry probes: a put is never missed for a get. */
static const struct hook perf_hooks[] = {
	{ .krp = &krp_kernel_counter },
	{ .kp = &kp_event_free },
	{ .krp = &krp_event_alloc },
	{ .kp = &kp_event_alloc },
};

static const struct hook kvm_hooks[] = {
	{ .kp = &kp_vm_free },
	{ .kp = &kp_vm_init },
};

static DEFINE_MUTEX(hooks_mutex);
static bool kvm_armed;

/* What status shows: are VM creations seen?  Written under hooks_mutex. */
static enum mpmu_kvm_hooks kvm_state = MPMU_KVM_HOOKS_NO_KVM;
static int kvm_error;
static const char *kvm_symbol;

#ifdef MPMU_FAULT_INJECT
/*
 * Debug builds only: probe this symbol instead of kvm_arch_init_vm, so
 * that the tests can see a loaded KVM whose probes cannot be armed (as on
 * a kernel where the function was renamed).
 */
static char *kvm_init_symbol = "kvm_arch_init_vm";
module_param(kvm_init_symbol, charp, 0400);
MODULE_PARM_DESC(kvm_init_symbol, "debug: the KVM function probed for VM creation");
#endif

static void hooks_unregister(const struct hook *hooks, int nr)
{
	while (nr--) {
		if (hooks[nr].kp)
			unregister_kprobe(hooks[nr].kp);
		else
			unregister_kretprobe(hooks[nr].krp);
	}
}

/*
 * Register @hooks in order, all or none.  A probe registered before (its
 * target module went away) keeps addr and flags, which register_*() would
 * reject: clear them first.  *@symbol names the probe that failed.
 */
static int hooks_register(const struct hook *hooks, int nr, const char **symbol)
{
	struct kprobe *kp;
	int i, ret = 0;

	for (i = 0; i < nr && !ret; i++) {
		kp = hooks[i].kp ?: &hooks[i].krp->kp;
		kp->addr = NULL;
		kp->flags = 0;
		if (hooks[i].kp)
			ret = register_kprobe(hooks[i].kp);
		else
			ret = register_kretprobe(hooks[i].krp);
	}
	if (ret) {
		i--;
		*symbol = kp->symbol_name;
		hooks_unregister(hooks, i);
	}
	return ret;
}

/* kvm.ko is loaded and live (file_is_kvm() is its GPL export). */
static bool kvm_loaded(void)
{
	void *sym = __symbol_get("file_is_kvm");

	if (!sym)
		return false;
	__symbol_put("file_is_kvm");
	return true;
}

/*
 * Arm the KVM probes.  @loading: called for kvm.ko's MODULE_STATE_COMING
 * (its symbols resolve, but it cannot be referenced yet).  A loaded KVM
 * whose functions cannot be probed is not arbitrated: say so, loudly, and
 * in status.
 */
static void kvm_arm(bool loading)
{
	const char *symbol = NULL;
	int ret;

	lockdep_assert_held(&hooks_mutex);
	if (kvm_armed)
		return;
#ifdef MPMU_FAULT_INJECT
	kp_vm_init.symbol_name = kvm_init_symbol;
#endif
	ret = hooks_register(kvm_hooks, ARRAY_SIZE(kvm_hooks), &symbol);
	kvm_armed = !ret;
	if (kvm_armed) {
		kvm_state = MPMU_KVM_HOOKS_ARMED;
		pr_info("arbitrating KVM VM creation\n");
	} else if (ret == -ENOENT && !loading && !kvm_loaded()) {
		kvm_state = MPMU_KVM_HOOKS_NO_KVM;
	} else {
		kvm_state = MPMU_KVM_HOOKS_FAILED;
		kvm_error = ret;
		kvm_symbol = symbol;
		pr_err("cannot probe %s in kvm: %d; VM creation is NOT arbitrated\n",
		       symbol, ret);
	}
}

static void kvm_disarm(void)
{
	lockdep_assert_held(&hooks_mutex);
	kvm_state = MPMU_KVM_HOOKS_NO_KVM;
	if (!kvm_armed)
		return;
	hooks_unregister(kvm_hooks, ARRAY_SIZE(kvm_hooks));
	kvm_armed = false;
	mpmu_forget_vms();
}

void mpmu_hooks_kvm_state(enum mpmu_kvm_hooks *state, int *err, const char **symbol)
{
	guard(mutex)(&hooks_mutex);
	*state = kvm_state;
	*err = kvm_state == MPMU_KVM_HOOKS_FAILED ? kvm_error : 0;
	*symbol = kvm_state == MPMU_KVM_HOOKS_FAILED ? kvm_symbol : NULL;
}

static void report_missed(const struct hook *hooks, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		if (hooks[i].krp && hooks[i].krp->nmissed)
			pr_warn("%s: %d return probes missed\n",
				hooks[i].krp->kp.symbol_name, hooks[i].krp->nmissed);
}

/*
 * --- the kernel's own knob (Linux 7.0+) ---
 *
 * Where perf_create_mediated_pmu() exists, KVM takes that knob itself, but
 * only when its vendor module was loaded with enable_mediated_pmu=Y (and
 * kept it: KVM clears it without a capable PMU).  Then the module only
 * observes (never arbitrate twice); otherwise it arbitrates (never leave a
 * host unarbitrated).  Re-evaluated when a vendor module goes live (after
 * its init, which may clear the parameter) or away: no VM of it can exist
 * then.  Both functions are probed whenever they exist, so that every
 * reference on the kernel's knob is seen, whoever takes it:
 *
 *   perf_create_mediated_pmu()   kretprobe: a holder, or a refusal (-EBUSY)
 *   perf_release_mediated_pmu()  kprobe: a holder fewer
 */
static const char *const kvm_vendors[] = { "kvm_amd", "kvm_intel" };
static bool native_present;
static unsigned long native_users;	/* bit per kvm_vendors[] entry */

/* Module names compare with '-' and '_' alike, as kmod does. */
static bool module_name_is(const char *name, const char *want)
{
	for (; *name && *want; name++, want++)
		if (*name != *want && !(strchr("-_", *name) && strchr("-_", *want)))
			return false;
	return *name == *want;
}

static int kvm_vendor(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kvm_vendors); i++)
		if (module_name_is(name, kvm_vendors[i]))
			return i;
	return -1;
}

/* The value of a loaded module's bool parameter @name (false if none). */
static bool module_bool_param(const struct module *mod, const char *name)
{
	unsigned int i;

	for (i = 0; i < mod->num_kp; i++)
		if (!strcmp(mod->kp[i].name, name) && mod->kp[i].ops == &param_ops_bool)
			return *(bool *)mod->kp[i].arg;
	return false;
}

static enum mpmu_mode native_mode(void)
{
	return native_present && native_users ? MPMU_MODE_OBSERVE : MPMU_MODE_ARBITRATE;
}

/* Returns true when the mode changes. */
static bool native_update(int vendor, bool uses)
{
	enum mpmu_mode before = native_mode();

	lockdep_assert_held(&hooks_mutex);
	if (uses)
		__set_bit(vendor, &native_users);
	else
		__clear_bit(vendor, &native_users);
	if (native_mode() == before)
		return false;
	pr_info("%s %s the kernel's own mediated PMU knob: %s\n", kvm_vendors[vendor],
		uses ? "uses" : "no longer uses",
		native_mode() == MPMU_MODE_OBSERVE ? "observing it" : "arbitrating");
	return true;
}

/*
 * At load: a vendor module loaded before this one.  Its parameter is read
 * where the admin reads it (this is module init, not a request handler).
 */
static bool vendor_param_from_sysfs(const char *vendor)
{
	char path[80], buf[4] = "";
	struct file *file;
	loff_t pos = 0;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/enable_mediated_pmu", vendor);
	file = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(file))
		return false;
	kernel_read(file, buf, sizeof(buf) - 1, &pos);
	filp_close(file, NULL);
	return buf[0] == 'Y' || buf[0] == '1';
}

enum mpmu_native mpmu_hooks_native(void)
{
	guard(mutex)(&hooks_mutex);
	if (!native_present)
		return MPMU_NATIVE_ABSENT;
	return native_users ? MPMU_NATIVE_IN_USE : MPMU_NATIVE_UNUSED;
}

static int native_create_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	mpmu_native_created((int)regs_return_value(regs));
	return 0;
}

static int native_release_pre(struct kprobe *p, struct pt_regs *regs)
{
	mpmu_native_released();
	return 0;
}

static struct kretprobe krp_native_create = {
	.kp.symbol_name = "perf_create_mediated_pmu",
	.handler = native_create_ret,
};

static struct kprobe kp_native_release = {
	.symbol_name = "perf_release_mediated_pmu",
	.pre_handler = native_release_pre,
};

/* The release first: a reference is never seen taken and not given back. */
static const struct hook native_hooks[] = {
	{ .kp = &kp_native_release },
	{ .krp = &krp_native_create },
};

/* The kernel has a probe-able function @name. */
static bool kernel_has(const char *name)
{
	struct kprobe kp = { .symbol_name = name };

	if (register_kprobe(&kp))
		return false;
	unregister_kprobe(&kp);
	return true;
}

/*
 * A kernel that has one of the two functions must have both, and both
 * probed: otherwise it would be observed wrong, or arbitrated twice.
 */
static int native_arm(void)
{
	const char *symbol = NULL;
	int ret;

	if (!kernel_has(kp_native_release.symbol_name) &&
	    !kernel_has(krp_native_create.kp.symbol_name))
		return 0;	/* no native knob (before Linux 7.0) */
	ret = hooks_register(native_hooks, ARRAY_SIZE(native_hooks), &symbol);
	if (ret) {
		pr_err("cannot probe %s, the kernel's own knob: %d; not loading\n",
		       symbol, ret);
		return ret;
	}
	native_present = true;
	return 0;
}

static void native_disarm(void)
{
	if (!native_present)
		return;
	report_missed(native_hooks, ARRAY_SIZE(native_hooks));
	hooks_unregister(native_hooks, ARRAY_SIZE(native_hooks));
}

/*
 * A KVM vendor module went live or away: follow its use of the kernel's
 * knob.  Lock order: config mutex, then hooks mutex (mpmu.h).
 */
static void vendor_notify(struct module *mod, int vendor, unsigned long action)
{
	bool changed = false;
	int ret;

	if (action != MODULE_STATE_LIVE && action != MODULE_STATE_GOING)
		return;
	guard(mutex)(&mpmu_config_mutex);
	scoped_guard(mutex, &hooks_mutex)
		changed = native_update(vendor, action == MODULE_STATE_LIVE &&
					module_bool_param(mod, "enable_mediated_pmu"));
	if (!changed)
		return;
	ret = mpmu_mode_switch(native_mode());
	if (ret)
		pr_err("counting for the new mode failed: %d; VMs are refused until a rescan succeeds\n",
		       ret);
}

static int kvm_module_notify(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	struct module *mod = data;
	int vendor = kvm_vendor(mod->name);

	if (vendor >= 0 && native_present) {
		vendor_notify(mod, vendor, action);
		return NOTIFY_DONE;
	}
	if (strcmp(mod->name, "kvm"))
		return NOTIFY_DONE;

	guard(mutex)(&hooks_mutex);
	if (action == MODULE_STATE_COMING)
		kvm_arm(true);
	else if (action == MODULE_STATE_GOING)
		kvm_disarm();
	return NOTIFY_DONE;
}

static struct notifier_block kvm_module_nb = {
	.notifier_call = kvm_module_notify,
};

/*
 * Arm every hook: perf first (so that events created from now on are seen
 * before any VM can be), the kernel's own knob's, then KVM now if it is
 * loaded, and whenever it is.  Then the mode, from the vendor modules
 * loaded now (the notifier follows them from here on; one that goes live
 * meanwhile waits for the config mutex, held by the caller).
 */
int mpmu_hooks_init(void)
{
	int maxactive = max(PERF_MAXACTIVE_MIN,
			    PERF_MAXACTIVE_PER_CPU * (int)num_possible_cpus());
	const char *symbol = NULL;
	int ret, i;

	lockdep_assert_held(&mpmu_config_mutex);
	krp_event_alloc.maxactive = maxactive;
	krp_kernel_counter.maxactive = maxactive;
	/* perf_create_mediated_pmu() may sleep on its mutex. */
	krp_native_create.maxactive = maxactive;

	ret = hooks_register(perf_hooks, ARRAY_SIZE(perf_hooks), &symbol);
	if (ret) {
		pr_err("cannot probe %s: %d\n", symbol, ret);
		return ret;
	}
	if (bench_no_return_probe)
		disable_kretprobe(&krp_event_alloc);
	ret = native_arm();
	if (ret)
		goto err_perf;

	ret = register_module_notifier(&kvm_module_nb);
	if (ret)
		goto err_native;

	scoped_guard(mutex, &hooks_mutex) {
		kvm_arm(false);
		for (i = 0; native_present && i < ARRAY_SIZE(kvm_vendors); i++)
			native_update(i, vendor_param_from_sysfs(kvm_vendors[i]));
	}
	ret = mpmu_mode_init(native_mode());
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	unregister_module_notifier(&kvm_module_nb);
	scoped_guard(mutex, &hooks_mutex)
		kvm_disarm();
err_native:
	native_disarm();
err_perf:
	hooks_unregister(perf_hooks, ARRAY_SIZE(perf_hooks));
	return ret;
}

void mpmu_hooks_exit(void)
{
	unregister_module_notifier(&kvm_module_nb);
	scoped_guard(mutex, &hooks_mutex) {
		if (kvm_armed) {
			report_missed(kvm_hooks, ARRAY_SIZE(kvm_hooks));
			hooks_unregister(kvm_hooks, ARRAY_SIZE(kvm_hooks));
			kvm_armed = false;
		}
	}
	native_disarm();
	report_missed(perf_hooks, ARRAY_SIZE(perf_hooks));
	hooks_unregister(perf_hooks, ARRAY_SIZE(perf_hooks));
	/*
	 * A refused call was sent to mpmu_refuse_*(), which runs after its
	 * handler has returned, preemptible: a task may be preempted there.
	 * Unregistering waits for handlers, not for that; RCU Tasks waits
	 * until every task has left such code (a preempted task is not
	 * quiescent), so the module's text is not freed under it, also with
	 * rmmod -f (CONFIG_MODULE_FORCE_UNLOAD=y on Debian).
	 */
	synchronize_rcu_tasks();
}
