import type { DataAccessFields } from '../contracts/agent-fields.js';

/** A file data.access's fields (URI already redacted, tags resolved now, at access time). */
export function fileAccessFields(resource_uri: string, access_mode: DataAccessFields['access_mode'], tags: string[], read = 0, written = 0): DataAccessFields {
  return {
    resource_uri,
    access_mode,
    row_count: null,
    byte_count: read + written,
    sensitivity_tags_resolved: tags,
    triggering_event_id: null,
    resource_type: 'file',
    bytes_read: read,
    bytes_written: written,
    content_hash: null,
  };
}
