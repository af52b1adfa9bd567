/**
 * A checker for the Karpenter v1 objects the platform writes (`karpenter.sh/v1` NodePool, `karpenter.k8s.aws/v1`
 * EC2NodeClass), written from the Karpenter 1.14 API reference (concepts/nodepools, concepts/nodeclasses): the fields
 * each object has, required fields, enums, duration/quantity/label patterns and the cross-field rules the CRDs enforce
 * with CEL. Unknown fields are errors, so a field in the wrong place (e.g. v1beta1's `spec.kubelet` on a NodePool) is
 * caught. Values the template only knows at deploy time (`<unresolved:…>` from the journey resolver) pass as strings.
 */
type Obj = Record<string, any>;

const DURATION = /^(([0-9]+(s|m|h))+|Never)$/;
const QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt', 'Gte', 'Lte'];
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
/** Well-known labels of the karpenter.k8s.aws domain a NodePool may set or require. */
const AWS_LABELS = ['instance-tenancy', 'capacity-reservation-type', 'capacity-reservation-id', 'capacity-reservation-interruptible', 'ec2nodeclass',
  'instance-encryption-in-transit-supported', 'instance-category', 'instance-hypervisor', 'instance-family', 'instance-generation', 'instance-local-nvme',
  'instance-size', 'instance-cpu', 'instance-cpu-manufacturer', 'instance-cpu-sustained-clock-speed-mhz', 'instance-memory', 'instance-ebs-bandwidth',
  'instance-network-bandwidth', 'instance-gpu-name', 'instance-gpu-manufacturer', 'instance-gpu-count', 'instance-gpu-memory', 'instance-accelerator-name',
  'instance-accelerator-manufacturer', 'instance-accelerator-count', 'instance-capability-flex', 'placement-group-id', 'placement-group-partition']
  .map((l) => `karpenter.k8s.aws/${l}`);

const deployTime = (v: unknown) => typeof v === 'string' && v.startsWith('<unresolved:');

class Checker {
  readonly problems: string[] = [];
  fields(path: string, o: unknown, allowed: string[], required: string[] = []): o is Obj {
    if (!o || typeof o !== 'object' || Array.isArray(o)) {
      this.problems.push(`${path}: must be an object`);
      return false;
    }
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.problems.push(`${path}.${k}: unknown field`);
    for (const k of required) if ((o as Obj)[k] === undefined) this.problems.push(`${path}.${k}: required`);
    return true;
  }
  check(ok: boolean, path: string, what: string): void {
    if (!ok) this.problems.push(`${path}: ${what}`);
  }
  pattern(path: string, v: unknown, re: RegExp, what: string): void {
    if (v === undefined || deployTime(v)) return;
    this.check(typeof v === 'string' && re.test(v), path, `${JSON.stringify(v)} ${what}`);
  }
  oneOf(path: string, v: unknown, values: unknown[]): void {
    if (v === undefined) return;
    this.check(values.includes(v), path, `${JSON.stringify(v)} must be one of ${values.join(', ')}`);
  }
  labelDomain(path: string, key: string): void {
    const domain = key.includes('/') ? key.split('/')[0] : '';
    this.check(!domain.endsWith('karpenter.sh') || key === 'karpenter.sh/capacity-type', path, `label domain "karpenter.sh" is restricted (${key})`);
    this.check(key !== 'kubernetes.io/hostname', path, 'label "kubernetes.io/hostname" is restricted');
    this.check(!domain.endsWith('karpenter.k8s.aws') || AWS_LABELS.includes(key), path, `label domain "karpenter.k8s.aws" is restricted (${key})`);
  }
  taints(path: string, list: unknown): void {
    if (list === undefined) return;
    if (!Array.isArray(list)) return this.check(false, path, 'must be a list');
    list.forEach((t, i) => {
      if (!this.fields(`${path}[${i}]`, t, ['key', 'value', 'effect', 'timeAdded'], ['key', 'effect'])) return;
      this.pattern(`${path}[${i}].key`, t.key, LABEL_KEY, 'is not a valid taint key');
      this.pattern(`${path}[${i}].value`, t.value, LABEL_KEY, 'is not a valid taint value');
      this.oneOf(`${path}[${i}].effect`, t.effect, EFFECTS);
    });
  }
}

function nodePool(c: Checker, o: Obj): void {
  if (!c.fields('spec', o.spec, ['template', 'disruption', 'limits', 'weight', 'replicas'], ['template'])) return;
  const s = o.spec;
  if (s.weight !== undefined) c.check(Number.isInteger(s.weight) && s.weight >= 1 && s.weight <= 100, 'spec.weight', 'must be 1-100');
  if (c.fields('spec.template', s.template, ['metadata', 'spec'], ['spec'])) {
    const meta = s.template.metadata;
    if (meta !== undefined && c.fields('spec.template.metadata', meta, ['labels', 'annotations'])) {
      for (const [k, v] of Object.entries<unknown>(meta.labels ?? {})) {
        c.pattern(`spec.template.metadata.labels.${k}`, k, LABEL_KEY, 'is not a valid label key');
        c.labelDomain(`spec.template.metadata.labels.${k}`, k);
        c.check(typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v), `spec.template.metadata.labels.${k}`, `${JSON.stringify(v)} is not a valid label value`);
      }
    }
    const t = s.template.spec;
    if (c.fields('spec.template.spec', t, ['nodeClassRef', 'requirements', 'taints', 'startupTaints', 'expireAfter', 'terminationGracePeriod'], ['nodeClassRef', 'requirements'])) {
      if (c.fields('spec.template.spec.nodeClassRef', t.nodeClassRef, ['group', 'kind', 'name'], ['group', 'kind', 'name'])) {
        c.check(t.nodeClassRef.group === 'karpenter.k8s.aws' && t.nodeClassRef.kind === 'EC2NodeClass', 'spec.template.spec.nodeClassRef', 'must reference a karpenter.k8s.aws EC2NodeClass');
      }
      const reqs = t.requirements;
      c.check(Array.isArray(reqs) && reqs.length <= 100, 'spec.template.spec.requirements', 'must be a list of at most 100');
      (Array.isArray(reqs) ? reqs : []).forEach((r: unknown, i: number) => {
        const p = `spec.template.spec.requirements[${i}]`;
        if (!c.fields(p, r, ['key', 'operator', 'values', 'minValues'], ['key', 'operator'])) return;
        const req = r as Obj;
        c.pattern(`${p}.key`, req.key, LABEL_KEY, 'is not a valid label key');
        c.labelDomain(`${p}.key`, req.key);
        c.check(req.key !== 'karpenter.sh/nodepool', `${p}.key`, 'label "karpenter.sh/nodepool" is restricted');
        c.oneOf(`${p}.operator`, req.operator, OPERATORS);
        const values: unknown[] = req.values ?? [];
        if (req.operator === 'In') c.check(values.length > 0, `${p}.values`, 'must not be empty with operator In');
        if (['Gt', 'Lt', 'Gte', 'Lte'].includes(req.operator)) c.check(values.length === 1 && /^\d+$/.test(String(values[0])), `${p}.values`, 'must be one non-negative integer');
        values.forEach((v, j) => c.pattern(`${p}.values[${j}]`, v, LABEL_VALUE, 'is not a valid label value'));
      });
      c.taints('spec.template.spec.taints', t.taints);
      c.taints('spec.template.spec.startupTaints', t.startupTaints);
      c.pattern('spec.template.spec.expireAfter', t.expireAfter, DURATION, 'is not a duration such as 720h or Never');
      c.pattern('spec.template.spec.terminationGracePeriod', t.terminationGracePeriod, /^([0-9]+(s|m|h))+$/, 'is not a duration');
    }
  }
  if (s.limits !== undefined && c.fields('spec.limits', s.limits, Object.keys(s.limits))) {
    for (const [k, v] of Object.entries<unknown>(s.limits)) c.check((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && QUANTITY.test(v)), `spec.limits.${k}`, `${JSON.stringify(v)} is not a quantity`);
  }
  if (s.disruption !== undefined && c.fields('spec.disruption', s.disruption, ['consolidationPolicy', 'consolidateAfter', 'budgets'], ['consolidateAfter'])) {
    const d = s.disruption;
    c.oneOf('spec.disruption.consolidationPolicy', d.consolidationPolicy, ['WhenEmpty', 'WhenEmptyOrUnderutilized', 'Balanced']);
    c.pattern('spec.disruption.consolidateAfter', d.consolidateAfter, DURATION, 'is not a duration such as 30s, 10m or Never');
    (d.budgets ?? []).forEach((b: unknown, i: number) => {
      const p = `spec.disruption.budgets[${i}]`;
      if (!c.fields(p, b, ['nodes', 'reasons', 'schedule', 'duration'], ['nodes'])) return;
      const budget = b as Obj;
      c.pattern(`${p}.nodes`, budget.nodes, /^((100|[0-9]{1,2})%|[0-9]+)$/, 'must be a node count or a percentage (strings)');
      (budget.reasons ?? []).forEach((r: unknown, j: number) => c.oneOf(`${p}.reasons[${j}]`, r, ['Underutilized', 'Empty', 'Drifted']));
      c.check((budget.schedule === undefined) === (budget.duration === undefined), p, 'schedule and duration go together');
    });
  }
}

function nodeClass(c: Checker, o: Obj): void {
  const allowed = ['amiFamily', 'amiSelectorTerms', 'associatePublicIPAddress', 'blockDeviceMappings', 'capacityReservationSelectorTerms', 'connectionTracking', 'context',
    'cpuOptions', 'detailedMonitoring', 'instanceProfile', 'instanceStorePolicy', 'ipPrefixCount', 'kubelet', 'metadataOptions', 'networkInterfaces',
    'placementGroupSelector', 'role', 'securityGroupSelectorTerms', 'subnetSelectorTerms', 'tags', 'userData'];
  if (!c.fields('spec', o.spec, allowed, ['amiSelectorTerms', 'securityGroupSelectorTerms', 'subnetSelectorTerms'])) return;
  const s = o.spec;
  c.check((s.role === undefined) !== (s.instanceProfile === undefined), 'spec', 'must specify exactly one of role and instanceProfile');
  c.oneOf('spec.amiFamily', s.amiFamily, ['AL2', 'AL2023', 'Bottlerocket', 'Custom', 'Windows2019', 'Windows2022', 'Windows2025']);
  (s.amiSelectorTerms ?? []).forEach((t: unknown, i: number) => {
    const p = `spec.amiSelectorTerms[${i}]`;
    if (!c.fields(p, t, ['alias', 'id', 'name', 'owner', 'ssmParameter', 'tags'])) return;
    const term = t as Obj;
    if (term.alias !== undefined) {
      c.check(Object.keys(term).length === 1, p, 'an alias term has no other fields');
      c.pattern(`${p}.alias`, term.alias, /^(al2|al2023|bottlerocket|windows2019|windows2022|windows2025)@.+$/, 'must be <family>@<version>, e.g. al2023@latest');
    }
  });
  c.check((s.amiSelectorTerms ?? []).some((t: Obj) => t.alias !== undefined) || s.amiFamily !== undefined, 'spec.amiFamily', 'required when no amiSelectorTerms alias is given');
  const selectors = (key: string, idPattern: RegExp, extra: string[]) => {
    const terms = s[key];
    c.check(Array.isArray(terms) && terms.length > 0 && terms.length <= 30, `spec.${key}`, 'must list 1 to 30 terms');
    (Array.isArray(terms) ? terms : []).forEach((t: unknown, i: number) => {
      const p = `spec.${key}[${i}]`;
      if (!c.fields(p, t, ['id', 'tags', ...extra])) return;
      const term = t as Obj;
      c.check(term.id === undefined || Object.keys(term).length === 1, p, 'an id term has no other fields');
      c.pattern(`${p}.id`, term.id, idPattern, 'is not an id of that kind');
    });
  };
  selectors('subnetSelectorTerms', /^subnet-[0-9a-z]+$/, []);
  selectors('securityGroupSelectorTerms', /^sg-[0-9a-z]+$/, ['name']);
  const devices = s.blockDeviceMappings ?? [];
  c.check(devices.filter((d: Obj) => d.rootVolume === true).length <= 1, 'spec.blockDeviceMappings', 'at most one root volume');
  devices.forEach((d: unknown, i: number) => {
    const p = `spec.blockDeviceMappings[${i}]`;
    if (!c.fields(p, d, ['deviceName', 'ebs', 'rootVolume'])) return;
    const ebs = (d as Obj).ebs;
    if (ebs === undefined || !c.fields(`${p}.ebs`, ebs, ['deleteOnTermination', 'encrypted', 'iops', 'kmsKeyID', 'snapshotID', 'throughput', 'volumeInitializationRate', 'volumeSize', 'volumeType'])) return;
    c.oneOf(`${p}.ebs.volumeType`, ebs.volumeType, ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3']);
    c.pattern(`${p}.ebs.volumeSize`, ebs.volumeSize, /^([1-9][0-9]{0,4}Gi|[1-9][0-9]{0,4}G|[1-9][0-9]?Ti|[1-9][0-9]?T)$/, 'is not a volume size such as 100Gi');
    c.check(ebs.snapshotID !== undefined || ebs.volumeSize !== undefined, `${p}.ebs`, 'needs volumeSize or snapshotID');
  });
  const md = s.metadataOptions;
  if (md !== undefined && c.fields('spec.metadataOptions', md, ['httpEndpoint', 'httpProtocolIPv6', 'httpPutResponseHopLimit', 'httpTokens'])) {
    c.oneOf('spec.metadataOptions.httpEndpoint', md.httpEndpoint, ['enabled', 'disabled']);
    c.oneOf('spec.metadataOptions.httpProtocolIPv6', md.httpProtocolIPv6, ['enabled', 'disabled']);
    c.oneOf('spec.metadataOptions.httpTokens', md.httpTokens, ['required', 'optional']);
    if (md.httpPutResponseHopLimit !== undefined) c.check(Number.isInteger(md.httpPutResponseHopLimit) && md.httpPutResponseHopLimit >= 1 && md.httpPutResponseHopLimit <= 64, 'spec.metadataOptions.httpPutResponseHopLimit', 'must be 1-64');
  }
  for (const k of Object.keys(s.tags ?? {})) {
    c.check(k !== '' && k !== 'eks:eks-cluster-name' && !k.startsWith('kubernetes.io/cluster') && !['karpenter.sh/nodepool', 'karpenter.sh/nodeclaim', 'karpenter.k8s.aws/ec2nodeclass'].includes(k),
      `spec.tags.${k}`, 'is a tag Karpenter sets itself');
  }
}

/** Problems of one Karpenter object (empty when it is a valid NodePool or EC2NodeClass). */
export function karpenterProblems(o: Obj): string[] {
  const c = new Checker();
  c.fields('', o, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], ['apiVersion', 'kind', 'metadata', 'spec']);
  c.check(typeof o.metadata?.name === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.metadata.name) && o.metadata.name.length <= 63, 'metadata.name', 'must be a Kubernetes name');
  if (o.apiVersion === 'karpenter.sh/v1' && o.kind === 'NodePool') nodePool(c, o);
  else if (o.apiVersion === 'karpenter.k8s.aws/v1' && o.kind === 'EC2NodeClass') nodeClass(c, o);
  else c.check(false, 'kind', `${o.apiVersion}/${o.kind} is not a Karpenter v1 NodePool or EC2NodeClass`);
  return c.problems;
}

/** Fails with the problems when an object is not a valid Karpenter v1 NodePool or EC2NodeClass. */
export function expectValidKarpenter(o: Obj): void {
  const problems = karpenterProblems(o);
  if (problems.length > 0) throw new Error(`${o.kind} "${o.metadata?.name}" is not valid karpenter v1:\n  ${problems.join('\n  ')}`);
}
