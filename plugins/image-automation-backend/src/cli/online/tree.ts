/**
 * `image-automation tree ENTITY`: an entity's automation objects and what they produced, as
 * `flux tree` draws it — ImageRepository → ImagePolicy → ImageUpdateAutomation → its Git source,
 * last commit and markers; ResourceSet → its input providers and, per cluster, the objects it
 * applied. Objects nothing points at are roots of their own.
 */

import type {
  AutomationObjectView,
  ResourceSetInventoryView,
} from '@imageops/backstage-plugin-image-automation-common';
import { CliCommand } from '../types';
import { BackendClient, CliError, CONNECTION_USAGE } from './client';
import { outputFormatOf, readyOf, serialize, shortDigest } from './format';
import {
  entityRefString,
  listObjects,
  objectPath,
  parseEntity,
} from './objects';
import { runOnline } from './run';

/** One node of the tree. @internal */
export interface TreeNode {
  /** What the line says, e.g. `ImagePolicy/flux-system/podinfo`. */
  label: string;
  /** After the label: state and what it produced, e.g. `Ready → ghcr.io/org/app:1.5.0`. */
  detail?: string;
  children: TreeNode[];
}

/** Draws a tree with box characters, as `flux tree` does. @internal */
export function drawTree(root: TreeNode): string {
  const lines: string[] = [];
  const line = (node: TreeNode) =>
    node.detail ? `${node.label}  ${node.detail}` : node.label;
  const walk = (node: TreeNode, prefix: string) => {
    node.children.forEach((child, i) => {
      const last = i === node.children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${line(child)}`);
      walk(child, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  lines.push(line(root));
  walk(root, '');
  return lines.map(l => `${l}\n`).join('');
}

/** `Ready`, `Suspended`, `Not ready: <message>` or `Unknown`. */
function stateOf(o: AutomationObjectView): string {
  if (o.suspended) return 'Suspended';
  const ready = readyOf(o);
  if (ready?.status === 'True') return 'Ready';
  if (ready?.status === 'False') return `Not ready: ${ready.message}`;
  return 'Unknown';
}

const refName = (value: unknown) =>
  (value as { name?: string } | undefined)?.name;
const refNamespace = (value: unknown, fallback: string) =>
  (value as { namespace?: string } | undefined)?.namespace ?? fallback;

/**
 * The tree of an entity's objects (pure: the inventories are given by ResourceSet id).
 * @internal
 */
export function buildTree(
  entityRef: string,
  objects: AutomationObjectView[],
  inventories: Map<string, ResourceSetInventoryView | { error: string }>,
): TreeNode {
  const placed = new Set<string>();
  const byKind = (kind: string) => objects.filter(o => o.kind === kind);
  const node = (
    o: AutomationObjectView,
    detail: string[] = [],
    children: TreeNode[] = [],
  ): TreeNode => {
    placed.add(o.id);
    return {
      label: o.id,
      detail: [stateOf(o), ...detail].filter(Boolean).join('  '),
      children,
    };
  };

  const sourceOf = (automation: AutomationObjectView) => {
    const ref = automation.spec.sourceRef;
    const name = refName(ref);
    return byKind('GitRepository').find(
      g =>
        g.name === name &&
        g.namespace === refNamespace(ref, automation.namespace),
    );
  };
  const automationNode = (
    automation: AutomationObjectView,
    policy?: AutomationObjectView,
  ): TreeNode => {
    const children: TreeNode[] = [];
    const source = sourceOf(automation);
    if (source) {
      children.push(node(source, [source.status.artifact?.revision ?? '']));
    } else if (refName(automation.spec.sourceRef)) {
      children.push({
        label: `GitRepository/${refNamespace(
          automation.spec.sourceRef,
          automation.namespace,
        )}/${refName(automation.spec.sourceRef)}`,
        detail: 'not declared by this entity',
        children: [],
      });
    }
    if (automation.status.lastPushCommit) {
      children.push({
        label: `commit ${automation.status.lastPushCommit.slice(0, 12)}`,
        detail: automation.status.lastPushTime
          ? `pushed ${automation.status.lastPushTime}`
          : undefined,
        children: [],
      });
    }
    const setter = policy ? `${policy.namespace}:${policy.name}` : undefined;
    for (const m of automation.status.markers ?? []) {
      if (setter && !m.setter.startsWith(setter)) continue;
      children.push({
        label: `marker ${m.file}:${m.line}`,
        detail: `${m.setter} = ${m.value}`,
        children: [],
      });
    }
    placed.add(automation.id);
    return { label: automation.id, detail: stateOf(automation), children };
  };
  const usesPolicy = (
    automation: AutomationObjectView,
    policy: AutomationObjectView,
  ) =>
    automation.namespace === policy.namespace &&
    (Boolean(automation.status.observedPolicies?.[policy.name]) ||
      (automation.status.markers ?? []).some(m =>
        m.setter.startsWith(`${policy.namespace}:${policy.name}`),
      ));
  const policyNode = (policy: AutomationObjectView): TreeNode => {
    const latest = policy.status.latestRef;
    const automations = byKind('ImageUpdateAutomation').filter(a =>
      usesPolicy(a, policy),
    );
    return node(
      policy,
      latest ? [`→ ${latest.name}:${latest.tag}`] : [],
      automations.map(a => automationNode(a, policy)),
    );
  };

  const roots: TreeNode[] = [];
  for (const repository of byKind('ImageRepository')) {
    const policies = byKind('ImagePolicy').filter(
      p =>
        refName(p.spec.imageRepositoryRef) === repository.name &&
        refNamespace(p.spec.imageRepositoryRef, p.namespace) ===
          repository.namespace,
    );
    const scan = repository.status.lastScanResult;
    roots.push(
      node(
        repository,
        scan ? [`${scan.tagCount} tags, scanned ${scan.scanTime}`] : [],
        policies.map(policyNode),
      ),
    );
  }
  for (const policy of byKind('ImagePolicy').filter(p => !placed.has(p.id)))
    roots.push(policyNode(policy));
  for (const automation of byKind('ImageUpdateAutomation').filter(
    a => !placed.has(a.id),
  ))
    roots.push(automationNode(automation));

  for (const rset of byKind('ResourceSet')) {
    const children: TreeNode[] = [];
    for (const input of (rset.spec.inputsFrom as
      | Array<Record<string, unknown>>
      | undefined) ?? []) {
      const provider = byKind('ResourceSetInputProvider').find(
        p => p.name === input.name && p.namespace === rset.namespace,
      );
      if (provider) {
        children.push(
          node(provider, [shortDigest(provider.status.lastExportedRevision)]),
        );
      } else {
        const what = input.name
          ? `ResourceSetInputProvider/${rset.namespace}/${input.name}`
          : `providers matching ${JSON.stringify(input.selector ?? {})}`;
        children.push({ label: `inputs from ${what}`, children: [] });
      }
    }
    const inventory = inventories.get(rset.id);
    if (inventory && 'error' in inventory) {
      children.push({
        label: 'inventory unavailable',
        detail: inventory.error,
        children: [],
      });
    } else {
      for (const cluster of inventory?.clusters ?? []) {
        children.push({
          label: `cluster ${cluster.cluster}`,
          detail: [
            cluster.state,
            cluster.lastAppliedRevision
              ? `revision ${shortDigest(cluster.lastAppliedRevision)}`
              : '',
          ]
            .filter(Boolean)
            .join('  '),
          children: cluster.entries.map(e => ({
            label: `${e.kind}/${e.namespace ? `${e.namespace}/` : ''}${e.name}`,
            detail: e.apiVersion,
            children: [],
          })),
        });
      }
    }
    roots.push(
      node(rset, [shortDigest(rset.status.lastAppliedRevision)], children),
    );
  }
  // What is left: GitRepositories no automation uses, providers no ResourceSet names, ManifestErrors.
  for (const o of objects.filter(x => !placed.has(x.id))) roots.push(node(o));
  return { label: entityRef, children: roots };
}

const USAGE = [
  'usage: image-automation tree ENTITY [-o json|yaml]\n',
  '  ENTITY                 an entity ref, e.g. component:default/podinfo (or --entity REF)\n',
  '  -o, --output FORMAT    tree (default), json or yaml\n',
  CONNECTION_USAGE,
].join('');

async function inventoriesOf(
  client: BackendClient,
  objects: AutomationObjectView[],
) {
  const inventories = new Map<
    string,
    ResourceSetInventoryView | { error: string }
  >();
  for (const rset of objects.filter(o => o.kind === 'ResourceSet')) {
    try {
      inventories.set(
        rset.id,
        await client.get<ResourceSetInventoryView>(
          `${objectPath(rset)}/inventory`,
          rset.id,
        ),
      );
    } catch (error) {
      if (
        !(error instanceof CliError) ||
        error.message.startsWith('cannot reach')
      )
        throw error;
      inventories.set(rset.id, { error: error.message });
    }
  }
  return inventories;
}

/** `tree`. @internal */
export const treeCommands: Record<string, CliCommand> = {
  tree: {
    summary:
      "an entity's automation objects and what they produced (as flux tree)",
    run: (args, io) =>
      runOnline(
        io,
        USAGE,
        args,
        {
          entity: { type: 'string' },
          output: { type: 'string', short: 'o' },
        } as const,
        async ({ values, positionals }, client) => {
          const refs = [
            ...positionals,
            ...(values.entity ? [values.entity] : []),
          ];
          if (refs.length !== 1)
            throw new CliError('expected exactly one entity', 2);
          const format =
            values.output === 'tree' ? 'table' : outputFormatOf(values.output);
          const entity = parseEntity(refs[0]);
          const objects = await listObjects(client, { entity });
          const tree = buildTree(
            entityRefString(entity),
            objects,
            await inventoriesOf(client, objects),
          );
          io.stdout.write(
            format === 'table' ? drawTree(tree) : serialize(tree, format),
          );
          return 0;
        },
      ),
  },
};
