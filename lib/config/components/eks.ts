import { z } from 'zod';
import { roleArn, type StageDefaults } from '../common';

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { error: 'must be an IPv4 CIDR such as 203.0.113.0/24' });

export const eksConfig = z.strictObject({
  /** Switch for the EKS cluster with GPU node groups and KubeRay. */
  enabled: z.boolean(),
  /** API endpoint exposure. `private` keeps the Kubernetes API inside the VPC. */
  endpointAccess: z.enum(['private', 'public-and-private'], { error: 'must be "private" or "public-and-private"' }),
  /** CIDRs allowed to reach a public endpoint; required with `public-and-private`. */
  publicAccessCidrs: z.array(cidr),
  /** IAM roles granted cluster-admin through EKS access entries. */
  adminRoleArns: z.array(roleArn),
  /** Run the KubeRay operator and a default RayCluster. */
  ray: z.boolean(),
}).superRefine((eks, ctx) => {
  if (eks.endpointAccess === 'public-and-private' && eks.publicAccessCidrs.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs'], message: 'a public-and-private endpoint needs at least one allowed CIDR (0.0.0.0/0 is not allowed)' });
  }
  eks.publicAccessCidrs.forEach((range, i) => {
    if (range.endsWith('/0')) ctx.addIssue({ code: 'custom', path: ['publicAccessCidrs', i], message: 'must not open the API to the whole internet' });
  });
});
export type EksConfig = z.infer<typeof eksConfig>;

const off: EksConfig = { enabled: false, endpointAccess: 'private', publicAccessCidrs: [], adminRoleArns: [], ray: true };
export const eksDefaults: StageDefaults<EksConfig> = { dev: off, staging: off, prod: off };
