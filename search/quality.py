"""Search quality on the real third-party corpus: hit rate and mean reciprocal rank.

The query set is what an on-call engineer types: exact alert names, symptoms
in their own words, misspellings and half-typed words. Each query names the
runbook slugs that are a right answer; a query is a hit when one of them is in
the top 3. Used by tests/search/test_quality.py and bench/search_quality.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

TOP = 3

QUERIES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (q, frozenset(slugs.split()))
    for q, slugs in (
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
        ("node disk full no space left", "nodefilesystemalmostoutofspace nodefilesystemspacefillingup"),
        ("etcd lost its leader", "etcdnoleader"),
        ("kubernetes api server down", "kubeapidown"),
        ("kubelet certificate expiring", "kubeletclientcertificateexpiration kubeletservercertificateexpiration"),
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


def evaluate(
    ranked_slugs: Callable[[str], Sequence[str]],
    queries: Sequence[tuple[str, frozenset[str]]] = QUERIES,
) -> QualityReport:
    """`ranked_slugs(q)` returns the slugs of the results, best first."""
    hits, ranks, misses = 0, [], []
    for query, expected in queries:
        slugs = list(ranked_slugs(query))
        rank = next((n for n, slug in enumerate(slugs, 1) if slug in expected), None)
        ranks.append(1 / rank if rank else 0.0)
        if rank is not None and rank <= TOP:
            hits += 1
        else:
            misses.append((query, slugs[:TOP]))
    return QualityReport(hits, len(queries), ranks, misses)


def load_corpus(corpus: Path) -> int:
    """Import every collection under `corpus` with the library's importer; returns how many runbooks exist."""
    from runbooks.importing import import_directory
    from runbooks.models import Runbook

    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        import_directory(folder)
    return Runbook.objects.count()
