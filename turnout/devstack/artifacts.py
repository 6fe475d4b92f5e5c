"""Fetch the JVM services from Maven Central with Maven, once, into a cache outside the tree.

Each service is a ``Distribution``: a generated ``pom.xml`` whose dependencies are copied
into ``lib/`` by ``maven-dependency-plugin``. A ``.complete`` marker written after a
successful copy lets every later start reuse the cache without running Maven at all.

The cache is keyed by its directory name, ``CACHE_SUBDIR``, and by the digest of each pom's
text: changing either downloads every distribution again on every machine (and a
checkout of another version of Turnout shares the cache only while both agree on it).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from turnout.devstack.errors import StackError, read_log_tail

#: Maven resolves a few hundred artifacts on a cold cache; on a slow mirror that takes
#: minutes, never tens of minutes. A hung download must not hang `turnout dev up`.
MAVEN_FETCH_TIMEOUT_S = 900.0

COMPLETE_MARKER = ".complete"
#: The cache's directory under the cache dir (part of the cache key, see the module doc).
CACHE_SUBDIR = "runtimes"


@dataclass(frozen=True)
class MavenDependency:
    group: str
    artifact: str
    version: str

    def render(self) -> str:
        return (
            "    <dependency>"
            f"<groupId>{self.group}</groupId>"
            f"<artifactId>{self.artifact}</artifactId>"
            f"<version>{self.version}</version>"
            "</dependency>"
        )


@dataclass(frozen=True)
class Distribution:
    """A JVM service as the stack runs it, assembled from Maven artifacts: a name, a
    version and the jars its ``lib/`` directory must hold."""

    name: str
    version: str
    dependencies: tuple[MavenDependency, ...]

    def pom(self) -> str:
        # The artifactId is Maven's name for this generated pom and part of the cache key
        # (the pom's digest), so it keeps the text the caches on disk were built from.
        deps = "\n".join(d.render() for d in self.dependencies)
        return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>turnout.devstack</groupId>
  <artifactId>{self.name}-runtime</artifactId>
  <version>{self.version}</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
</project>
"""


#: Kafka's release archive binds slf4j 2 to log4j2; its Maven artifacts declare no binding
#: and an slf4j 1.7 API, so a JVM of Kafka's built from Maven needs these for its logs.
LOG4J2_BINDING = (
    MavenDependency("org.slf4j", "slf4j-api", "2.0.17"),
    MavenDependency("org.apache.logging.log4j", "log4j-slf4j2-impl", "2.24.3"),
    MavenDependency("org.apache.logging.log4j", "log4j-core", "2.24.3"),
)


def kafka_distribution(version: str) -> Distribution:
    return Distribution(
        name="kafka",
        version=version,
        dependencies=(MavenDependency("org.apache.kafka", "kafka_2.13", version), *LOG4J2_BINDING),
    )


def zookeeper_distribution(version: str) -> Distribution:
    # The zookeeper artifact leaves its metrics library and its logger binding to the
    # release archive; without metrics-core the server dies at start with NoClassDefFoundError.
    return Distribution(
        name="zookeeper",
        version=version,
        dependencies=(
            MavenDependency("org.apache.zookeeper", "zookeeper", version),
            MavenDependency("io.dropwizard.metrics", "metrics-core", "4.2.30"),
            MavenDependency("org.slf4j", "slf4j-simple", "2.0.13"),
            # Also left to the release archive: the server dies at bind time without it.
            MavenDependency("org.xerial.snappy", "snappy-java", "1.1.10.5"),
        ),
    )


def distribution_dir(cache_dir: Path, distribution: Distribution) -> Path:
    # The pom's digest is part of the name: changing a distribution's dependencies fetches
    # afresh instead of reusing a cache built from the old list.
    digest = hashlib.sha256(distribution.pom().encode()).hexdigest()[:10]
    return cache_dir / CACHE_SUBDIR / f"{distribution.name}-{distribution.version}-{digest}"


def is_cached(cache_dir: Path, distribution: Distribution) -> bool:
    home = distribution_dir(cache_dir, distribution)
    return (home / COMPLETE_MARKER).is_file() and any((home / "lib").glob("*.jar"))


def fetch(cache_dir: Path, distribution: Distribution) -> Path:
    """Return the ``lib/`` directory of ``distribution``, running Maven only on a cold cache."""
    home = distribution_dir(cache_dir, distribution)
    lib = home / "lib"
    if is_cached(cache_dir, distribution):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven (mvn) is not on PATH; it fetches Kafka and ZooKeeper "
            "(Debian: apt-get install maven)"
        )
    home.mkdir(parents=True, exist_ok=True)
    if lib.exists():
        shutil.rmtree(lib)
    (home / "pom.xml").write_text(distribution.pom())
    log_path = home / "maven.log"
    command = [
        mvn,
        "-B",
        "-f",
        str(home / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    with log_path.open("w") as log:
        try:
            result = subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=MAVEN_FETCH_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(
                f"downloading {distribution.name} {distribution.version} with Maven took "
                f"longer than {MAVEN_FETCH_TIMEOUT_S:.0f} s",
                read_log_tail(log_path),
                log_path,
            ) from exc
    if result.returncode != 0 or not any(lib.glob("*.jar")):
        raise StackError(
            f"Maven could not download {distribution.name} {distribution.version} "
            f"(exit code {result.returncode})",
            read_log_tail(log_path),
            log_path,
        )
    jars = sorted(p.name for p in lib.glob("*.jar"))
    (home / COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
    return lib
