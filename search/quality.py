"""Search quality on the real third-party corpus: hit rate and mean reciprocal rank.

Two query sets. `EARLIER_QUERIES` (34) is the set the first weights were tuned
on; most of its queries share words with the target's alert name. The second
set was written before any tuning in this module's history, from each target
runbook's Meaning/Impact text in other words than its alert name, plus typos
of every length and exact names. It is split once, by position (even → tune,
odd → held out), into `TUNING_QUERIES` and `HELD_OUT_QUERIES`; only the tuning
half may guide changes to the vocabulary or weights. Its totals were looked at
often enough that it no longer counts as held out.

A fresh set (111 queries) was then written the same way, before the tuning it
measures, mostly for runbooks the earlier sets do not target, and split the
same way into `FRESH_TUNING_QUERIES` and `FRESH_HELD_OUT_QUERIES`. Tuning may
use everything except the fresh held-out half, whose misses are never printed
(`REPORT_ONLY`); that half is what the README reports and the tests hold to a
floor.

Each query names the right answers by alert name (or slug, for pages without
an alert), lower-cased, so the runbooks both collections have for one alert
(KubePodCrashLooping in each) are both right. A query is a hit when a right
answer is in the top 3. Used by tests/search/test_quality.py and
bench/search_quality.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOP = 3

Query = tuple[str, frozenset[str]]


def _queries(pairs: Iterable[tuple[str, str]]) -> tuple[Query, ...]:
    return tuple((q, frozenset(answers.split())) for q, answers in pairs)


EARLIER_QUERIES: tuple[Query, ...] = _queries(
    (
        # Exact alert names, as Alertmanager sends them (and as people paste them).
        ("KubePodCrashLooping", "kubepodcrashlooping"),
        ("etcdNoLeader", "etcdnoleader"),
        ("NodeFilesystemAlmostOutOfSpace", "nodefilesystemalmostoutofspace"),
        ("TargetDown", "targetdown"),
        ("CephOSDDown", "cephosddown"),
        ("KubeletDown", "kubeletdown"),
        ("PrometheusRuleFailures", "prometheusrulefailures"),
        ("watchdog", "watchdog"),
        # Symptoms, in an on-call engineer's words.
        ("pod keeps restarting crashloopbackoff", "kubepodcrashlooping"),
        (
            "node disk full no space left",
            "nodefilesystemalmostoutofspace nodefilesystemspacefillingup",
        ),
        ("etcd lost its leader", "etcdnoleader"),
        ("kubernetes api server down", "kubeapidown"),
        (
            "kubelet certificate expiring",
            "kubeletclientcertificateexpiration kubeletservercertificateexpiration",
        ),
        ("clock out of sync ntp", "nodeclocknotsynchronising nodeclockskewdetected"),
        ("persistent volume filling up", "kubepersistentvolumefillingup persistentvolumefillingup"),
        (
            "prometheus cannot send alerts to alertmanager",
            "prometheusnotconnectedtoalertmanagers prometheuserrorsendingalertstoanyalertmanager "
            "prometheuserrorsendingalertstosomealertmanagers",
        ),
        ("cpu throttling", "cputhrottlinghigh"),
        ("ceph cluster full", "cephclustercriticallyfull cephclusternearfull"),
        ("too many open file descriptors", "nodefiledescriptorlimit"),
        ("node not ready", "kubenodenotready"),
        ("cronjob failed", "kubejobfailed kubejobcompletion"),
        ("coredns errors", "corednserrorshigh"),
        ("raid array degraded", "noderaiddegraded noderaiddiskfailure"),
        ("hpa maxed out", "kubehpamaxedout"),
        ("network interface flapping", "nodenetworkinterfaceflapping"),
        ("image registry storage full", "imageregistrystoragefull"),
        ("deployment replicas mismatch", "kubedeploymentreplicasmismatch"),
        # Misspellings.
        ("KubePodCrashLoping", "kubepodcrashlooping"),
        ("etcd no leadr", "etcdnoleader"),
        ("alertmanger config inconsistent", "alertmanagerconfiginconsistent"),
        ("promethues rule failures", "prometheusrulefailures"),
        ("ceph osd dwon", "cephosddown"),
        # Half-typed words, as the live search sees them.
        ("kubepodcrash", "kubepodcrashlooping"),
        ("etcd insuff", "etcdinsufficientmembers"),
    )
)

# Symptoms, in an engineer's own words: the condition words of the alert name are
# avoided; the name of the system (etcd, ceph, prometheus) is kept where a person
# would naturally say it.
SYMPTOMS = [
    ("container dies right after start and gets restarted over and over", "kubepodcrashlooping"),
    ("etcd has nobody elected as primary", "etcdnoleader"),
    (
        "root partition on a host is nearly out of room",
        "nodefilesystemalmostoutofspace nodefilesystemspacefillingup",
    ),
    ("prometheus cannot scrape some endpoints", "targetdown"),
    ("ceph object storage daemon not running", "cephosddown"),
    ("node agent unreachable by monitoring for 15 minutes", "kubeletdown"),
    ("recording expressions keep erroring when evaluated", "prometheusrulefailures"),
    ("dns server answering servfail", "corednserrorshigh"),
    ("containers held back by their cgroup quota", "cputhrottlinghigh"),
    ("apiserver unable to write its audit trail", "auditlogerror"),
    ("time drifting on a server ntp broken", "nodeclocknotsynchronising nodeclockskewdetected"),
    ("kernel running out of open file handles", "nodefiledescriptorlimit"),
    (
        "inodes nearly exhausted on a host",
        "nodefilesystemalmostoutoffiles nodefilesystemfilesfillingup",
    ),
    ("disk array lost its redundancy", "noderaiddegraded noderaiddiskfailure"),
    ("autoscaler stuck at its maximum number of pods", "kubehpamaxedout"),
    ("nic keeps going up and down", "nodenetworkinterfaceflapping"),
    ("network card dropping incoming packets with errors", "nodenetworkreceiveerrs"),
    ("container registry volume has no space left", "imageregistrystoragefull"),
    ("stateful workload does not have the expected pod count", "kubestatefulsetreplicasmismatch"),
    ("deployment has fewer pods available than desired", "kubedeploymentreplicasmismatch"),
    ("batch job exceeded its backoff limit", "kubejobfailed"),
    ("batch job running for more than an hour", "kubejobcompletion"),
    (
        "volume in a system namespace has under 3 percent free",
        "kubepersistentvolumefillingup persistentvolumefillingup",
    ),
    ("node cannot host new pods, status unhealthy", "kubenodenotready"),
    (
        "notifications cannot reach slack or pagerduty",
        "alertmanagerfailedtosendalerts alertmanagerclusterfailedtosendalerts",
    ),
    ("alertmanager will not pick up its new configuration", "alertmanagerfailedreload"),
    (
        "prometheus cannot reach any alertmanager",
        "prometheusnotconnectedtoalertmanagers prometheuserrorsendingalertstoanyalertmanager",
    ),
    (
        "samples are not shipped to remote storage",
        "prometheusremotestoragefailures prometheusremotewritebehind",
    ),
    ("tsdb blocks cannot be merged", "prometheustsdbcompactionsfailing"),
    ("scraped metrics stopped coming in", "prometheusnotingestingsamples"),
    (
        "client cert used against the apiserver expires within a week",
        "kubeclientcertificateexpiration",
    ),
    (
        "node agent tls cert about to lapse",
        "kubeletclientcertificateexpiration kubeletservercertificateexpiration",
    ),
    ("connection tracking table nearly full", "nodehighnumberconntrackentriesused"),
    ("storage cluster became read only at 85 percent", "cephclusterreadonly"),
    ("ceph utilisation above 75 percent, free up space", "cephclusternearfull cephosdnearfull"),
    ("ceph monitors about to lose majority", "cephmonquorumatrisk cephmonquorumlost"),
    ("a ceph storage host went offline", "cephnodedown"),
    ("osd daemon restarting ten times in five minutes", "cephosdflapping"),
    ("ceph requests taking very long to process", "cephosdslowops"),
    ("node running close to 110 pods capacity", "kubelettoomanypods"),
    ("cluster cannot survive losing a node, memory requests too high", "kubememoryovercommit"),
    ("namespace hit its hard resource limits", "kubequotafullyused kubequotaexceeded"),
    ("daemonset update hangs waiting for a replaced pod", "kubedaemonsetrolloutstuck"),
    ("container in a pod stuck pending for too long", "kubecontainerwaiting"),
    ("apiserver dropping a fifth of incoming requests", "kubeapiterminatedrequests"),
    (
        "one master node using over 90 percent of its ram",
        "extremelyhighindividualcontrolplanememory",
    ),
    ("two vms share the same mac", "kubemacpoolmaccollisiondetected kubemacpoolduplicatemacsfound"),
    ("virtual machine guest kernel crashed", "vmnonrecoverableospanic clustervmpanicdetected"),
    (
        "ovn-kubernetes control plane has nobody elected",
        "noovnclustermanagerleader noovnmasterleader",
    ),
    ("informer caches of the garbage collector cannot be reached", "garbagecollectorsyncfailed"),
    ("etcd db size close to the maximum", "etcddatabasequotalowspace etcdbackendquotalowspace"),
    ("etcd disk sync takes too long", "etcdhighfsyncdurations"),
    (
        "etcd rpc calls are sluggish",
        "etcdgrpcrequestsslow etcdgrpcreadrequestsslow etcdgrpcwriterequestsslow",
    ),
    ("telemetry data not reaching red hat", "telemeterclientfailures"),
    (
        "machine config daemon could not restart the node",
        "mcdrebooterror machineconfigdaemonrebooterror",
    ),
]
# Misspellings and half-typed words of every length.
TYPOS = [
    ("etdc no leader", "etcdnoleader"),
    ("kubelt down", "kubeletdown"),
    ("coredsn errors", "corednserrorshigh"),
    ("alertmanagr cluster down", "alertmanagerclusterdown"),
    ("cpu throtling", "cputhrottlinghigh"),
    ("persistant volume filling up", "kubepersistentvolumefillingup persistentvolumefillingup"),
    ("cephclusternearful", "cephclusternearfull"),
    ("prometheus tsdb compactoins failing", "prometheustsdbcompactionsfailing"),
    ("kube hpa maxd out", "kubehpamaxedout"),
    ("node clock skew detcted", "nodeclockskewdetected"),
    ("kubenodenotredy", "kubenodenotready"),
]
# Exact names, as alerts send them, plus the snake_case a metric label uses.
NAMES = [
    ("KubeStatefulSetReplicasMismatch", "kubestatefulsetreplicasmismatch"),
    ("NodeNetworkInterfaceFlapping", "nodenetworkinterfaceflapping"),
    ("etcdHighFsyncDurations", "etcdhighfsyncdurations"),
    ("CephMonQuorumLost", "cephmonquorumlost"),
    ("PrometheusNotIngestingSamples", "prometheusnotingestingsamples"),
    ("VirtControllerDown", "virtcontrollerdown"),
    ("KubeQuotaExceeded", "kubequotaexceeded"),
    ("ODFNodeMTULessThan9000", "odfnodemtulessthan9000"),
    ("kube_hpa_maxed_out", "kubehpamaxedout"),
    ("ceph_osd_down", "cephosddown"),
]


# The fresh set: written and committed before the tuning it measures, from the
# Meaning/Impact text of runbooks the sets above mostly leave alone, in both
# collections. Split by position (even → tune, odd → held out) within each group.
FRESH_SYMPTOMS = [
    (
        "replicas with volumes all sit on one node, single point of failure",
        "highlyavailableworkloadincorrectlyspread",
    ),
    (
        "acm hub cannot push its metrics to thanos, cluster shows dark in grafana",
        "acmmetricscollectorforwardremotewriteerror acmuwlmetricscollectorforwardremotewriteerror",
    ),
    (
        "thanos compactor stopped, old metrics never deleted and s3 bill keeps growing",
        "acmthanoscompacthalted",
    ),
    ("etcd member went away while a master rebooted during the upgrade", "etcdmembersdown"),
    (
        "etcd signing certificate authority has a year left before it lapses",
        "etcdsignercaexpirationcritical",
    ),
    (
        "builds cannot push images, registry volume is write protected",
        "imageregistrystoragereadonly",
    ),
    (
        "one master pegged above 90 percent cpu for an hour",
        "extremelyhighindividualcontrolplanecpu",
    ),
    (
        "apiserver returning lots of 5xx and slow responses, availability slo at risk",
        "kubeapierrorbudgetburn",
    ),
    (
        "no kube-controller-manager instance running, replicasets not reconciled",
        "kubecontrollermanagerdown",
    ),
    (
        "node drain blocked because the app has exactly its minimum healthy pods",
        "poddisruptionbudgetatlimit",
    ),
    ("new pods stay pending, nothing assigns them to nodes", "kubeschedulerdown"),
    ("log forwarder resource has an invalid spec, logs not shipped", "clusterlogforwardernotready"),
    (
        "vector log shipper denied permission by the lokistack it sends to",
        "collectorhigh403forbiddenresponserate",
    ),
    (
        "an openshift operator's actual state does not match what was requested",
        "clusteroperatordegraded",
    ),
    (
        "cluster version operator gives prometheus no metrics, updates cannot be orchestrated",
        "clusterversionoperatordown",
    ),
    (
        "pvc in an openshift- namespace has almost no inodes left",
        "kubepersistentvolumeinodesfillingup",
    ),
    ("readiness probe failing, pod is running but gets no traffic", "kubepodnotready"),
    (
        "servicemonitor objects thrown out by the operator as invalid",
        "prometheusoperatorrejectedresources",
    ),
    (
        "a scrape reply is too big so prometheus marks the target as down",
        "prometheusscrapebodysizelimithit",
    ),
    (
        "user-defined alerts from thanos ruler never get delivered, its queue overflows",
        "thanosrulequeueisdroppingalerts",
    ),
    (
        "no ovnkube-node pod on a linux node, new workloads there get no network",
        "nodewithoutovnkubenodepodrunning",
    ),
    (
        "ovn controller on a node lost its link to the southbound db",
        "ovnkubernetescontrollerdisconnectedsouthbounddatabase",
    ),
    (
        "ovn-northd has no active instance, logical flows are not translated",
        "ovnkubernetesnorthdinactive",
    ),
    (
        "80 percent of node subnets handed out, soon no more nodes can join",
        "v4subnetallocationthresholdexceeded",
    ),
    (
        "imagestream tags not pulled from the upstream registry, pods run stale images",
        "imagestreamimportfailed",
    ),
    ("masters together using over 60 percent of their memory", "highoverallcontrolplanememory"),
    (
        "mco cannot evict pods from a node so the upgrade is stuck",
        "machineconfigcontrollerdrainerror",
    ),
    (
        "mcp on hold so the rotated kubelet ca bundle cannot reach its nodes",
        "machineconfigcontrollerpausedpoolkubeletca",
    ),
    (
        "os image switch on a node failed during an upgrade, rpm-ostree",
        "machineconfigdaemonpivoterror",
    ),
    (
        "os services on a node eating more than their set-aside memory",
        "systemmemoryexceedsreservation",
    ),
    ("apps resolving hostnames that do not exist, typos in service urls", "dnsnxdomain"),
    (
        "sudden jump in outbound traffic to the internet, possible exfiltration",
        "externalegresshightrend",
    ),
    ("haproxy router returning a lot of 500 and 503 responses", "ingress5xxerrors"),
    ("tcp round trip time rising compared to yesterday", "latencyhightrend"),
    ("flowlogs pipeline cannot write to loki and throws flows away", "netobservlokierror"),
    ("network policies blocking traffic between pods", "netpoldenied"),
    ("linux kernel discarding packets, kfree_skb tracepoint", "packetdropsbykernel"),
    ("services still negotiating tls 1.0 or sslv3", "tlsinsecureversion"),
    ("ceph health_warn for a long time", "cephclusterwarningstate"),
    ("ceph recovery crawling slowly after a failure", "cephdatarecoverytakingtoolong"),
    ("leftover cephfs subvolumes with no pv bound wasting space", "cephfsstalesubvolume"),
    ("ceph metadata server cache bigger than its memory limit", "cephmdscacheusagehigh"),
    ("ceph manager not found by prometheus, no storage metrics", "cephmgrisabsent"),
    ("ceph monitors keep electing a new leader", "cephmonhighnumberofleaderchanges"),
    ("a disk behind an osd on one host stopped answering", "cephosddisknotresponding"),
    ("placement group self-healing taking ages", "cephpgrepairtakingtoolong"),
    (
        "ceph pool close to its byte quota, will turn readonly",
        "cephpoolquotabytescriticallyexhausted cephpoolquotabytesnearexhaustion",
    ),
    ("rgw object gateway unhealthy, rook ceph rgw replicas not ready", "clusterobjectstorestate"),
    ("encryption key server unreachable from the storage cluster", "kmsserverconnectionalert"),
    (
        "noobaa backingstores used up, new writes refused",
        "noobaasystemcapacitywarning100 noobaasystemcapacitywarning95 noobaasystemcapacitywarning85",
    ),
    ("osd drive saturated with io, iostat shows it busy all the time", "odfdiskutilizationhigh"),
    ("odf node network card running near line rate", "odfnodenicbandwidthsaturation"),
    ("rbd client blocklisted by ceph, pvc filesystem went read-only", "odfrbdclientblocked"),
    ("object bucket claim approaching its quota", "obcquotabytesalert obcquotaobjectsalert"),
    ("rbd mirror daemon unhealthy, disaster recovery replication stopped", "odfmirrordaemonstatus"),
    ("datavolume keeps restarting while importing a vm disk", "cdidatavolumeunusualrestartcount"),
    ("disk inside a virtual machine nearly full", "guestfilesystemalmostoutofspace"),
    (
        "long run queue inside a vm guest, cpu contention",
        "guestvcpuqueuehighcritical guestvcpuqueuehighwarning",
    ),
    (
        "control plane node not ready for five minutes, ha reduced",
        "hacontrolplanedown kubenodenotready",
    ),
    ("hostpath provisioner pool on the same filesystem as the os", "hppsharingpoolpathwithos"),
    (
        "every node lacks hardware virtualization extensions, vms cannot run",
        "kubevirtnoavailablenodestorunvms",
    ),
    (
        "vm guest os almost out of memory, oom soon",
        "kubevirtvmguestmemoryavailablelow kubevirtvmguestmemorypressure",
    ),
    ("vm live migrating over and over, a dozen times a day", "kubevirtvmiexcessivemigrations"),
    ("mac address allocator not running, cannot create vms", "kubemacpooldown"),
    ("virt-launcher pods piling up by the hundreds in failed phase", "virtlauncherpodsstuckfailed"),
    ("windows vm on ceph rbd causing crc errors", "vmstorageclasswarning virtualmachinecrcerrors"),
    ("half of the alertmanager pods keep crashing", "alertmanagerclustercrashlooping"),
    ("daemonset pods running on nodes where they should not be", "kubedaemonsetmisscheduled"),
    ("node readiness changing several times in a quarter hour", "kubenodereadinessflapping"),
    ("different kubernetes versions running on nodes mid upgrade", "kubeversionmismatch"),
    ("kubelet failing to rotate its client cert", "kubeletclientcertificaterenewalerrors"),
    ("outgoing packets failing on a nic", "nodenetworktransmiterrs"),
    ("prometheus config file has broken content and will not reload", "prometheusbadconfig"),
    (
        "prometheus skipping rule group runs because they take too long",
        "prometheusmissingruleevaluations",
    ),
    (
        "remote write wants more shards than the configured max",
        "prometheusremotewritedesiredshards",
    ),
    ("config-reloader sidecar cannot sync configuration", "configreloadersidecarerrors"),
]
# Misspellings and half-typed words of every length.
FRESH_TYPOS = [
    ("vrit handler down", "virthandlerdown"),
    (
        "noobaa capcity",
        "noobaasystemcapacitywarning100 noobaasystemcapacitywarning95 noobaasystemcapacitywarning85",
    ),
    ("ceph mgr absnt", "cephmgrisabsent"),
    ("kube proxy dwn", "kubeproxydown"),
    ("clster operator degarded", "clusteroperatordegraded"),
    ("etcd membrs down", "etcdmembersdown"),
    ("pod disruption budjet", "poddisruptionbudgetatlimit poddisruptionbudgetlimit"),
    ("kube schedular down", "kubeschedulerdown"),
    ("virt-api rest erors", "virtapiresterrorsburst virtapiresterrorshigh"),
    ("promethus bad confg", "prometheusbadconfig"),
    ("kubestatemetrics lis errors", "kubestatemetricslisterrors"),
    ("cephosddiskunavail", "cephosddiskunavailable"),
    ("odfnodelat", "odfnodelatencyhighonosdnodes odfnodelatencyhighonnonosdnodes"),
    ("deschedular psi disabld", "deschedulerpsidisabled"),
    ("ingres 5xx", "ingress5xxerrors"),
    ("hpp operatr down", "hppoperatordown"),
    ("cdi not redy", "cdinotready"),
    ("ipsec erors", "ipsecerrors"),
    ("kubelet pleg durtion", "kubeletplegdurationhigh"),
    ("cnao donw", "cnaodown"),
    ("sspdow", "sspdown sspoperatordown"),
]
# Exact names, as alerts send them, plus the snake_case a metric label uses.
FRESH_NAMES = [
    ("NoReadyVirtHandler", "noreadyvirthandler"),
    ("CephOSDCriticallyFull", "cephosdcriticallyfull"),
    ("KubeAggregatedAPIDown", "kubeaggregatedapidown"),
    ("PrometheusTSDBReloadsFailing", "prometheustsdbreloadsfailing"),
    ("StorageClientHeartbeatMissed", "storageclientheartbeatmissed"),
    ("KubeStatefulSetUpdateNotRolledOut", "kubestatefulsetupdatenotrolledout"),
    ("NorthboundStaleAlert", "northboundstalealert"),
    ("ACMRemoteWriteError", "acmremotewriteerror"),
    ("VirtOperatorRESTErrorsBurst", "virtoperatorresterrorsburst"),
    ("KubeCPUQuotaOvercommit", "kubecpuquotaovercommit"),
    ("kube_client_errors", "kubeclienterrors"),
    ("node_network_interface_down", "nodenetworkinterfacedown"),
    ("cluster_log_forwarder_output_error_rate", "clusterlogforwarderoutputerrorrate"),
    ("odf_core_pod_restarted", "odfcorepodrestarted"),
]

_FRESH = (FRESH_SYMPTOMS, FRESH_TYPOS, FRESH_NAMES)
FRESH_TUNING_QUERIES: tuple[Query, ...] = tuple(
    q for group in _FRESH for q in _queries(group[0::2])
)
FRESH_HELD_OUT_QUERIES: tuple[Query, ...] = tuple(
    q for group in _FRESH for q in _queries(group[1::2])
)


_NEW = (SYMPTOMS, TYPOS, NAMES)
TUNING_QUERIES: tuple[Query, ...] = tuple(q for group in _NEW for q in _queries(group[0::2]))
HELD_OUT_QUERIES: tuple[Query, ...] = tuple(q for group in _NEW for q in _queries(group[1::2]))
QUERY_SETS: dict[str, tuple[Query, ...]] = {
    "fresh held-out": FRESH_HELD_OUT_QUERIES,
    "fresh tuning": FRESH_TUNING_QUERIES,
    "old held-out": HELD_OUT_QUERIES,
    "old tuning": TUNING_QUERIES,
    "earlier 34": EARLIER_QUERIES,
}
# Sets whose misses are never printed: only their totals are reported.
REPORT_ONLY = frozenset({"fresh held-out"})


@dataclass
class QualityReport:
    hits: int
    total: int
    reciprocal_ranks: list[float]
    misses: list[tuple[str, list[str]]]

    @property
    def hit_rate(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def mrr(self) -> float:
        return sum(self.reciprocal_ranks) / self.total if self.total else 0.0

    def summary(self) -> str:
        return f"hit rate@{TOP} {self.hit_rate:.3f} ({self.hits}/{self.total}), MRR {self.mrr:.3f}"


def answer_keys(runbook: Any) -> frozenset[str]:
    """What a query's right answers can name: the runbook's alert names and its slug, lower-cased."""
    return frozenset({runbook.slug, *(a.name.lower() for a in runbook.alert_names.all())})


def evaluate(
    ranked: Callable[[str], Sequence[frozenset[str]]],
    queries: Sequence[Query] = FRESH_HELD_OUT_QUERIES,
) -> QualityReport:
    """`ranked(q)` returns the answer keys of the results, best first."""
    hits, ranks, misses = 0, [], []
    for query, expected in queries:
        results = list(ranked(query))
        rank = next((n for n, keys in enumerate(results, 1) if keys & expected), None)
        ranks.append(1 / rank if rank else 0.0)
        if rank is not None and rank <= TOP:
            hits += 1
        else:
            misses.append((query, [min(keys) for keys in results[:TOP]]))
    return QualityReport(hits, len(queries), ranks, misses)


def search_ranked(query: str) -> list[frozenset[str]]:
    from .engine import search

    return [answer_keys(hit.runbook) for hit in search(query).hits]


def load_corpus(corpus: Path) -> int:
    """Import the whole corpus as one folder; returns how many runbooks exist.

    The query sets name their expected runbooks by the slugs this gives (the
    collection folder is part of each file's path). Importing each collection
    on its own keeps every runbook too, since imports match files by their
    source path, but under other slugs where names collide.
    """
    from runbooks.importing import import_directory
    from runbooks.models import Runbook

    import_directory(corpus)
    return Runbook.objects.count()
