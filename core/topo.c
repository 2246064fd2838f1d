/* SPDX-License-Identifier: MIT */
/*
 * Topology discovery and thread placement through hwloc (implements topo.h).
 * A pb_topo caches the PU orders each policy uses; pb_pin_self binds through a
 * lazily loaded process-wide topology (pthread_once), so workers can pin
 * themselves without a pb_topo handle.
 */
#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "topo.h"

struct pb_topo {
	hwloc_topology_t hw;
	unsigned npus, ncores, npackages, nnodes, nl3;
	int *compact; /* OS index of each PU, logical (compact) order */
	int *scatter; /* OS index of each PU, scatter order */
};

/* Rank path of a PU from the PU up to the root, for the scatter sort. */
#define PATH_MAX_DEPTH 32
struct pu_key {
	int os;
	unsigned depth;
	unsigned rank[PATH_MAX_DEPTH]; /* rank[0]: PU among its siblings, then its parent, ... */
};

/*
 * Scatter order: sort PUs by their sibling ranks read from the PU upwards.
 * Two PUs that differ at the top-most level (package, NUMA group, L3 group)
 * but agree below come next to each other, so consecutive threads land on
 * different packages first, then different cores, then SMT siblings.
 */
static int pu_key_cmp(const void *a, const void *b)
{
	const struct pu_key *x = a, *y = b;
	unsigned d = x->depth < y->depth ? x->depth : y->depth;

	for (unsigned i = 0; i < d; i++)
		if (x->rank[i] != y->rank[i])
			return x->rank[i] < y->rank[i] ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->os < y->os ? -1 : x->os > y->os;
}

static int topo_build_orders(struct pb_topo *t)
{
	struct pu_key *keys;

	t->compact = calloc(t->npus, sizeof(int));
	t->scatter = calloc(t->npus, sizeof(int));
	keys = calloc(t->npus, sizeof(*keys));
	if (!t->compact || !t->scatter || !keys) {
		free(keys);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < t->npus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PU, i);
		hwloc_obj_t o = pu;
		unsigned d = 0;

		t->compact[i] = (int)pu->os_index;
		keys[i].os = (int)pu->os_index;
		while (o && o->parent && d < PATH_MAX_DEPTH) {
			keys[i].rank[d++] = o->sibling_rank;
			o = o->parent;
		}
		keys[i].depth = d;
	}
	qsort(keys, t->npus, sizeof(*keys), pu_key_cmp);
	for (unsigned i = 0; i < t->npus; i++)
		t->scatter[i] = keys[i].os;
	free(keys);
	return 0;
}

static unsigned nbobjs(hwloc_topology_t hw, hwloc_obj_type_t type)
{
	int n = hwloc_get_nbobjs_by_type(hw, type);

	return n > 0 ? (unsigned)n : 0;
}

int pb_topo_open(struct pb_topo **out)
{
	struct pb_topo *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	if (hwloc_topology_init(&t->hw) < 0) {
		free(t);
		return -errno ? -errno : -EIO;
	}
	if (hwloc_topology_load(t->hw) < 0) {
		rc = errno ? -errno : -EIO;
		hwloc_topology_destroy(t->hw);
		free(t);
		return rc;
	}
	t->npus = nbobjs(t->hw, HWLOC_OBJ_PU);
	t->ncores = nbobjs(t->hw, HWLOC_OBJ_CORE);
	t->npackages = nbobjs(t->hw, HWLOC_OBJ_PACKAGE);
	t->nnodes = nbobjs(t->hw, HWLOC_OBJ_NUMANODE);
	t->nl3 = nbobjs(t->hw, HWLOC_OBJ_L3CACHE);
	if (!t->ncores)
		t->ncores = t->npus; /* some VMs expose no Core objects */
	if (t->npus == 0) {
		hwloc_topology_destroy(t->hw);
		free(t);
		return -ENODEV;
	}
	rc = topo_build_orders(t);
	if (rc) {
		pb_topo_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

void pb_topo_close(struct pb_topo *t)
{
	if (!t)
		return;
	free(t->compact);
	free(t->scatter);
	hwloc_topology_destroy(t->hw);
	free(t);
}

unsigned pb_topo_npus(const struct pb_topo *t)
{
	return t->npus;
}

unsigned pb_topo_ncores(const struct pb_topo *t)
{
	return t->ncores;
}

void pb_topo_summary(const struct pb_topo *t, char *buf, size_t len)
{
	snprintf(buf, len, "%u package%s, %u NUMA node%s, %u L3 group%s, %u core%s, %u PU%s",
		 t->npackages, t->npackages == 1 ? "" : "s", t->nnodes, t->nnodes == 1 ? "" : "s",
		 t->nl3, t->nl3 == 1 ? "" : "s", t->ncores, t->ncores == 1 ? "" : "s", t->npus,
		 t->npus == 1 ? "" : "s");
}

static bool topo_has_pu(const struct pb_topo *t, long os)
{
	for (unsigned i = 0; i < t->npus; i++)
		if (t->compact[i] == os)
			return true;
	return false;
}

/*
 * Parse an explicit CPU list "0,2,4-7" into cpus (up to max entries, may be
 * NULL to only validate).  Returns the number of CPUs or -EINVAL.
 */
static int parse_cpu_list(const struct pb_topo *t, const char *s, int *cpus, size_t max,
			  char *err, size_t errlen)
{
	const char *p = s;
	size_t n = 0;

	if (!*s) {
		snprintf(err, errlen, "empty CPU list");
		return -EINVAL;
	}
	while (*p) {
		char *end;
		long a, b;

		if (!isdigit((unsigned char)*p))
			goto bad;
		a = strtol(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			b = strtol(p, &end, 10);
			p = end;
			if (b < a)
				goto bad;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		} else if (*p) {
			goto bad;
		}
		for (long c = a; c <= b; c++) {
			if (!topo_has_pu(t, c)) {
				snprintf(err, errlen, "CPU %ld in pin list '%s' does not exist here, allowed: "
					 "OS indexes of the %u PUs (see 'poolbench topo')", c, s, t->npus);
				return -EINVAL;
			}
			if (cpus && n < max)
				cpus[n] = (int)c;
			n++;
			if (n > 1u << 20)
				goto bad;
		}
	}
	return (int)n;
bad:
	snprintf(err, errlen, "bad CPU list '%s', allowed: comma-separated OS CPU indexes or ranges, "
		 "e.g. 0,2,4-7", s);
	return -EINVAL;
}

static hwloc_obj_t topo_node(const struct pb_topo *t, const char *arg, char *err, size_t errlen,
			     const char *policy)
{
	char *end;
	long n;
	hwloc_obj_t node = NULL;

	if (!isdigit((unsigned char)*arg)) {
		snprintf(err, errlen, "bad pin policy '%s', allowed: node:N with N a NUMA node OS index",
			 policy);
		return NULL;
	}
	n = strtol(arg, &end, 10);
	if (*end == 0)
		node = hwloc_get_numanode_obj_by_os_index(t->hw, (unsigned)n);
	if (!node || !node->cpuset || hwloc_bitmap_iszero(node->cpuset)) {
		snprintf(err, errlen, "bad pin policy '%s': no NUMA node %s with CPUs here, allowed: "
			 "node:0 .. node:%u", policy, arg, t->nnodes ? t->nnodes - 1 : 0);
		return NULL;
	}
	return node;
}

int pb_pin_parse(const struct pb_topo *t, const char *policy, char *err, size_t errlen)
{
	if (!strcmp(policy, "none") || !strcmp(policy, "compact") || !strcmp(policy, "scatter"))
		return 0;
	if (!strncmp(policy, "node:", 5))
		return topo_node(t, policy + 5, err, errlen, policy) ? 0 : -EINVAL;
	if (isdigit((unsigned char)policy[0])) {
		int n = parse_cpu_list(t, policy, NULL, 0, err, errlen);

		return n < 0 ? n : 0;
	}
	snprintf(err, errlen, "unknown pin policy '%s', allowed: none, compact, scatter, node:N, "
		 "or a CPU list like 0,2-3", policy);
	return -EINVAL;
}

/*
 * Documented fallback: with more threads than CPUs in the policy's set, the
 * placement wraps around (thread i gets order[i % len]) and a note says so on
 * stderr; pinning is never silently dropped or changed.
 */
int pb_pin_plan(const struct pb_topo *t, const char *policy, unsigned offset, unsigned n,
		int *cpus, char *err, size_t errlen)
{
	int *order = NULL, *own = NULL;
	unsigned len = 0;
	int rc = pb_pin_parse(t, policy, err, errlen);

	if (rc)
		return rc;
	if (!strcmp(policy, "none")) {
		for (unsigned i = 0; i < n; i++)
			cpus[i] = -1;
		return 0;
	}
	if (!strcmp(policy, "compact")) {
		order = t->compact;
		len = t->npus;
	} else if (!strcmp(policy, "scatter")) {
		order = t->scatter;
		len = t->npus;
	} else if (!strncmp(policy, "node:", 5)) {
		hwloc_obj_t node = topo_node(t, policy + 5, err, errlen, policy);

		own = calloc(t->npus, sizeof(int));
		if (!own)
			return -ENOMEM;
		for (unsigned i = 0; i < t->npus; i++)
			if (hwloc_bitmap_isset(node->cpuset, (unsigned)t->compact[i]))
				own[len++] = t->compact[i];
		order = own;
	} else {
		int m = parse_cpu_list(t, policy, NULL, 0, err, errlen);

		own = calloc((size_t)m, sizeof(int));
		if (!own)
			return -ENOMEM;
		parse_cpu_list(t, policy, own, (size_t)m, err, errlen);
		order = own;
		len = (unsigned)m;
	}
	if (len == 0) {
		free(own);
		snprintf(err, errlen, "pin policy '%s' selects no CPU", policy);
		return -EINVAL;
	}
	if ((uint64_t)offset + n > len)
		pb_log("note: pin policy '%s' has %u CPU%s for threads %u..%u: placement wraps around "
		       "(several threads share a CPU)", policy, len, len == 1 ? "" : "s", offset,
		       offset + n - 1);
	for (unsigned i = 0; i < n; i++)
		cpus[i] = order[(offset + i) % len];
	free(own);
	return 0;
}

/* Process-wide topology for pb_pin_self, loaded once on first use. */
static hwloc_topology_t pin_hw;
static int pin_hw_rc;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void pin_hw_load(void)
{
	if (hwloc_topology_init(&pin_hw) < 0) {
		pin_hw_rc = -EIO;
		return;
	}
	if (hwloc_topology_load(pin_hw) < 0) {
		hwloc_topology_destroy(pin_hw);
		pin_hw_rc = -EIO;
	}
}

int pb_pin_self(int cpu)
{
	hwloc_bitmap_t set;
	int rc;

	if (cpu < 0)
		return 0;
	pthread_once(&pin_once, pin_hw_load);
	if (pin_hw_rc)
		return pin_hw_rc;
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	hwloc_bitmap_only(set, (unsigned)cpu);
	rc = hwloc_set_cpubind(pin_hw, set, HWLOC_CPUBIND_THREAD);
	if (rc < 0)
		rc = errno ? -errno : -EINVAL;
	hwloc_bitmap_free(set);
	return rc;
}

void pb_cpus_format(const int *cpus, unsigned n, char *buf, size_t len)
{
	size_t off = 0;
	bool any = false;

	if (len == 0)
		return;
	buf[0] = 0;
	for (unsigned i = 0; i < n; i++)
		if (cpus[i] >= 0)
			any = true;
	if (!any) {
		snprintf(buf, len, "-");
		return;
	}
	for (unsigned i = 0; i < n && off < len; i++) {
		if (cpus[i] >= 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%d", i ? "," : "", cpus[i]);
		else
			off += (size_t)snprintf(buf + off, len - off, "%s-", i ? "," : "");
	}
}

static void print_order(FILE *f, const char *label, const int *order, unsigned n)
{
	char buf[512];

	pb_cpus_format(order, n, buf, sizeof(buf));
	fprintf(f, "  %-10s %s\n", label, buf);
}

void pb_topo_print(const struct pb_topo *t, FILE *f)
{
	char sum[256];
	char *s = NULL;

	pb_topo_summary(t, sum, sizeof(sum));
	fprintf(f, "topology: %s\n", sum);
	fprintf(f, "hwloc API 0x%x\n", hwloc_get_api_version());
	fprintf(f, "PUs (OS index: package, NUMA node, core):\n");
	for (unsigned i = 0; i < t->npus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PU, i);
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_CORE, pu);
		hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, pu);
		int node = -1;

		for (unsigned k = 0; k < t->nnodes; k++) {
			hwloc_obj_t nd = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, k);

			if (nd->cpuset && hwloc_bitmap_isset(nd->cpuset, pu->os_index))
				node = (int)nd->os_index;
		}
		fprintf(f, "  PU P#%u: package %d, node %d, core L#%d\n", pu->os_index,
			pkg ? (int)pkg->logical_index : -1, node, core ? (int)core->logical_index : -1);
	}
	/* Caches, one line per level and kind: how many, and the size of one. */
	fprintf(f, "caches:\n");
	for (int d = 0; d < hwloc_topology_get_depth(t->hw); d++) {
		hwloc_obj_t o = hwloc_get_obj_by_depth(t->hw, d, 0);
		char type[64];

		if (!o || !hwloc_obj_type_is_cache(o->type) || !o->attr)
			continue;
		hwloc_obj_type_snprintf(type, sizeof(type), o, 0);
		fprintf(f, "  %-4s x%u, %llu KiB each, %u-byte lines\n", type,
			hwloc_get_nbobjs_by_depth(t->hw, d),
			(unsigned long long)(o->attr->cache.size / 1024), o->attr->cache.linesize);
	}
	if (hwloc_bitmap_asprintf(&s, hwloc_topology_get_allowed_cpuset(t->hw)) >= 0) {
		fprintf(f, "allowed cpuset: %s\n", s);
		free(s);
	}
	fprintf(f, "CPU order per pin policy (thread i gets entry i, wrapping around):\n");
	fprintf(f, "  %-10s -\n", "none");
	print_order(f, "compact", t->compact, t->npus);
	print_order(f, "scatter", t->scatter, t->npus);
	for (unsigned k = 0; k < t->nnodes; k++) {
		hwloc_obj_t nd = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, k);
		int cpus[1024];
		unsigned n = 0;
		char label[32];

		for (unsigned i = 0; i < t->npus && n < 1024; i++)
			if (nd->cpuset && hwloc_bitmap_isset(nd->cpuset, (unsigned)t->compact[i]))
				cpus[n++] = t->compact[i];
		snprintf(label, sizeof(label), "node:%u", nd->os_index);
		print_order(f, label, cpus, n);
	}
	fprintf(f, "  %-10s an explicit OS CPU list, e.g. 0,2-3\n", "LIST");
}
