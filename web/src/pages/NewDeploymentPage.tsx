import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import type { DeploymentCreate, MirrorNaming } from "../api/types";
import { explainError } from "../api/client";
import { useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { useAsync } from "../hooks/useAsync";
import { targetTopic } from "../lib/mirrorNaming";

const STRATEGIES = ["range", "round_robin", "sticky", "manual"];
const NAMINGS: MirrorNaming[] = ["prefix", "identity", "template"];

/**
 * Create a deployment (an admin's): its cluster, live binding, colours' versions and
 * strategy, and optionally a mirror to another cluster with a preview of each topic's
 * copy. Processing settings start at their defaults and are edited on the deployment's
 * page. The server validates everything; its refusal is shown as it answers.
 */
export function NewDeploymentPage() {
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Deployments</Link> / <span aria-current="page">new</span>
      </nav>
      <h1>New deployment</h1>
      <RequireRole min="admin" fallback={<EmptyState title="Creating a deployment needs the admin role." />}>
        <NewDeploymentForm />
      </RequireRole>
    </>
  );
}

function NewDeploymentForm() {
  const client = useClient();
  const navigate = useNavigate();
  const clusters = useAsync((signal) => client.clusters(signal), [client]);
  // Mirrors a colour may consume across; the form works without them (none offered).
  const existing = useAsync((signal) => client.deployments(signal), [client]);
  const [name, setName] = useState("");
  const [team, setTeam] = useState("");
  const [cluster, setCluster] = useState("");
  const [group, setGroup] = useState("");
  const [topics, setTopics] = useState("");
  const [blue, setBlue] = useState("1");
  const [green, setGreen] = useState("2");
  const [strategy, setStrategy] = useState("range");
  const [mirror, setMirror] = useState(false);
  const [target, setTarget] = useState("");
  const [alias, setAlias] = useState("");
  const [naming, setNaming] = useState<MirrorNaming>("prefix");
  const [prefix, setPrefix] = useState("");
  const [template, setTemplate] = useState("mirror.{alias}.{topic}");
  const [coordinates, setCoordinates] = useState(false);
  const [pattern, setPattern] = useState("");
  const [greenVia, setGreenVia] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (clusters.status === "error") {
    return <ErrorState title="The clusters could not be listed." message={clusters.error} onRetry={clusters.reload} />;
  }
  if (!clusters.data) return <Loading what="the clusters" />;
  const names = clusters.data.data.map((c) => c.name);
  if (names.length === 0) {
    return <EmptyState title="No cluster is registered yet.">An admin registers one with <code>POST /api/v1/clusters</code>.</EmptyState>;
  }
  const source = cluster || names[0]!;
  const targets = names.filter((n) => n !== source);
  const mirrorTarget = target && targets.includes(target) ? target : (targets[0] ?? "");
  const topicList = topics
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const effectiveAlias = alias || source;
  // Mirrors copying from the chosen cluster: green may run on their target (migration).
  const crossable = (existing.data?.data ?? []).filter((d) => d.mirror && d.cluster === source);
  const via = mirror ? undefined : crossable.find((d) => d.name === greenVia);
  // A mirror with a pattern may list no topic; any other deployment lists its topics.
  const hasPattern = mirror && pattern.trim() !== "";
  const copies = topicList.map((t) => `${t} → ${targetTopic(t, naming, effectiveAlias, prefix, template)}`);
  if (hasPattern) {
    copies.push(`each topic matching ${pattern.trim()} → ${targetTopic("<topic>", naming, effectiveAlias, prefix, template)}`);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body: DeploymentCreate = {
      name,
      cluster: source,
      live: { group, topics: topicList },
      strategy,
      colours: { blue: { version: blue }, green: via ? { version: green, via_mirror: via.name } : { version: green } },
    };
    if (team) body.team = team;
    if (mirror) {
      body.mirror = {
        target_cluster: mirrorTarget,
        naming,
        prefix: naming === "prefix" && prefix ? prefix : null,
        template: naming === "template" ? template : null,
        coordinate_headers: coordinates,
      };
      if (alias) body.mirror.source_alias = alias;
      if (pattern.trim()) body.mirror.source_topic_pattern = pattern.trim();
    }
    setSaving(true);
    setError(null);
    try {
      const created = await client.createDeployment(body);
      navigate(`/deployments/${encodeURIComponent(created.name)}`);
    } catch (err) {
      setError(explainError(err));
      setSaving(false);
    }
  }

  return (
    <form className="card form-grid" onSubmit={submit} aria-label="New deployment">
      <label htmlFor="nd-name">Name</label>
      <input id="nd-name" required value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="nd-team">Team (optional)</label>
      <input id="nd-team" value={team} onChange={(e) => setTeam(e.target.value)} />
      <label htmlFor="nd-cluster">Cluster</label>
      <select id="nd-cluster" value={source} onChange={(e) => setCluster(e.target.value)}>
        {names.map((n) => (
          <option key={n}>{n}</option>
        ))}
      </select>
      <label htmlFor="nd-group">Consumer group</label>
      <input id="nd-group" required value={group} onChange={(e) => setGroup(e.target.value)} />
      <label htmlFor="nd-topics">Topics (comma-separated)</label>
      <input id="nd-topics" required={!hasPattern} value={topics} onChange={(e) => setTopics(e.target.value)} />
      <label htmlFor="nd-blue">Blue version</label>
      <input id="nd-blue" required value={blue} onChange={(e) => setBlue(e.target.value)} />
      <label htmlFor="nd-green">Green version</label>
      <input id="nd-green" required value={green} onChange={(e) => setGreen(e.target.value)} />
      {crossable.length > 0 && !mirror ? (
        <>
          <label htmlFor="nd-green-via">Green consumes the copies of</label>
          <select id="nd-green-via" value={via?.name ?? ""} onChange={(e) => setGreenVia(e.target.value)}>
            <option value="">no mirror: {source}</option>
            {crossable.map((d) => (
              <option key={d.name} value={d.name}>
                mirror {d.name} → {d.mirror!.target_cluster}
              </option>
            ))}
          </select>
          {via ? (
            <p className="form-wide muted" data-testid="migration-preview">
              Green runs on {via.mirror!.target_cluster} and consumes the copies made by {via.name}; a switch to green moves the deployment
              there. Start its agents with <code>turnout mirror consume</code>.
            </p>
          ) : null}
        </>
      ) : null}
      <label htmlFor="nd-strategy">Strategy</label>
      <select id="nd-strategy" value={strategy} onChange={(e) => setStrategy(e.target.value)}>
        {STRATEGIES.map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
      <label htmlFor="nd-mirror">Mirror to another cluster</label>
      <input id="nd-mirror" type="checkbox" checked={mirror} disabled={targets.length === 0} onChange={(e) => setMirror(e.target.checked)} />
      {mirror ? (
        <>
          <label htmlFor="nd-target">Target cluster</label>
          <select id="nd-target" value={mirrorTarget} onChange={(e) => setTarget(e.target.value)}>
            {targets.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
          <label htmlFor="nd-alias">Source alias</label>
          <input id="nd-alias" placeholder={source} value={alias} onChange={(e) => setAlias(e.target.value)} />
          <label htmlFor="nd-naming">Topic naming</label>
          <select id="nd-naming" value={naming} onChange={(e) => setNaming(e.target.value as MirrorNaming)}>
            {NAMINGS.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
          {naming === "prefix" ? (
            <>
              <label htmlFor="nd-prefix">Prefix</label>
              <input id="nd-prefix" placeholder={`${effectiveAlias}.`} value={prefix} onChange={(e) => setPrefix(e.target.value)} />
            </>
          ) : null}
          {naming === "template" ? (
            <>
              <label htmlFor="nd-template">Template</label>
              <input id="nd-template" value={template} onChange={(e) => setTemplate(e.target.value)} />
            </>
          ) : null}
          <label htmlFor="nd-coordinates">Source coordinates as headers</label>
          <input id="nd-coordinates" type="checkbox" checked={coordinates} onChange={(e) => setCoordinates(e.target.checked)} />
          <label htmlFor="nd-pattern">More source topics (regular expression)</label>
          <input id="nd-pattern" placeholder="orders\..*" value={pattern} onChange={(e) => setPattern(e.target.value)} />
          <p className="form-wide muted" data-testid="mirror-preview">
            {copies.length === 0 ? "Each topic's copy is shown here." : copies.join(", ")}{" "}
            on {mirrorTarget}
          </p>
        </>
      ) : null}
      {error ? (
        <p className="form-wide text-bad" role="alert" data-testid="create-error">
          {error}
        </p>
      ) : null}
      <div className="form-wide actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Creating…" : "Create deployment"}
        </button>
      </div>
    </form>
  );
}
