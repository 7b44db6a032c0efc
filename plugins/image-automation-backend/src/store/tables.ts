/** Row of `image_automation_objects`. @internal */
export interface ObjectRow {
  id: string;
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  entity_ref: string | null;
  source_key: string;
  source_type: string;
  source_location: string;
  /** JSON array of the namespaces granted to the declaring entity; null for platform objects. */
  granted_namespaces?: string | null;
  manifest: string;
  manifest_hash: string;
  generation: number;
  status: string;
  suspended: boolean | number;
  suspended_by: string | null;
  suspended_at: string | null;
  reconcile_requested_at: string | null;
  reconcile_requested_by: string | null;
  next_run_at: string;
  last_run_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Row of `image_automation_scans`. @internal */
export interface ScanRow {
  id: number;
  object_id: string;
  canonical_image_name: string | null;
  started_at: string;
  duration_ms: number;
  outcome: string;
  error: string | null;
  /** A failed scan's registry error class (`RegistryErrorKind`). */
  error_kind: string | null;
  /** A failed scan's HTTP status from the registry. */
  error_status: number | null;
  tag_count: number;
  revision: string | null;
  tags_added: string;
  tags_removed: string;
  requests: number;
}

/** Row of `image_automation_tags`. @internal */
export interface TagRow {
  object_id: string;
  tag: string;
  digest: string | null;
  first_seen_at: string;
  last_seen_at: string;
  gone_since: string | null;
}

export const OBJECTS = 'image_automation_objects';
export const SCANS = 'image_automation_scans';
export const TAGS = 'image_automation_tags';
