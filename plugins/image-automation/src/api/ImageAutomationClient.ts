import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AutomationObjectView,
  EntityTimelineView,
  EntityVersionsView,
  FleetFilter,
  FleetView,
  IMAGE_AUTOMATION_PLUGIN_ID,
  ObjectAction,
  ObjectEvent,
  Page,
  PolicyExplanation,
  PolicyPreviewRequest,
  PromotionPin,
  PromotionPreview,
  PromotionState,
  PromotionVersion,
  PromotionView,
  RepositoryTagView,
  ResourceSetInventoryView,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ImageAutomationApi,
  ObjectRef,
  PromotionDecision,
} from './ImageAutomationApi';

/**
 * {@link ImageAutomationApi} over HTTP: the backend's base URL comes from discovery and requests go
 * through the fetch API, which adds the user's Backstage token.
 * @public
 */
export class ImageAutomationClient implements ImageAutomationApi {
  private readonly discoveryApi: Pick<DiscoveryApi, 'getBaseUrl'>;
  private readonly fetchApi: Pick<FetchApi, 'fetch'>;

  constructor(options: {
    discoveryApi: Pick<DiscoveryApi, 'getBaseUrl'>;
    fetchApi: Pick<FetchApi, 'fetch'>;
  }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async getEntityObjects(entity: ObjectRef): Promise<AutomationObjectView[]> {
    const body = await this.request<{ items: AutomationObjectView[] }>(
      `/entities/${refPath(entity)}/objects`,
    );
    return body.items;
  }

  async getScans(
    object: ObjectRef,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ScanRecord>> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const search = query.toString();
    return this.request<Page<ScanRecord>>(
      `/objects/${refPath(object)}/scans${search ? `?${search}` : ''}`,
    );
  }

  async getEvents(
    object: ObjectRef,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ObjectEvent>> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const search = query.toString();
    return this.request<Page<ObjectEvent>>(
      `/objects/${refPath(object)}/events${search ? `?${search}` : ''}`,
    );
  }

  async runAction(
    object: ObjectRef,
    action: ObjectAction,
  ): Promise<AutomationObjectView> {
    return this.request<AutomationObjectView>(
      `/objects/${refPath(object)}/${action}`,
      { method: 'POST' },
    );
  }

  async getVersions(entity: ObjectRef): Promise<EntityVersionsView> {
    return this.request<EntityVersionsView>(
      `/entities/${refPath(entity)}/versions`,
    );
  }

  async explainPolicy(policy: ObjectRef): Promise<PolicyExplanation> {
    return this.request<PolicyExplanation>(
      `/objects/${refPath(policy)}/explain`,
    );
  }

  async getResourceSetInventory(resourceSet: {
    namespace: string;
    name: string;
  }): Promise<ResourceSetInventoryView> {
    const ref = { kind: 'ResourceSet', ...resourceSet };
    return this.request<ResourceSetInventoryView>(
      `/objects/${refPath(ref)}/inventory`,
    );
  }

  async previewPolicy(
    request: PolicyPreviewRequest,
  ): Promise<PolicyExplanation> {
    return this.request<PolicyExplanation>('/policy-preview', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  async getTags(
    repository: ObjectRef,
    options: {
      search?: string;
      limit?: number;
      cursor?: string;
      includeGone?: boolean;
    } = {},
  ): Promise<Page<RepositoryTagView>> {
    const query = new URLSearchParams();
    if (options.search) query.set('search', options.search);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.includeGone) query.set('includeGone', 'true');
    const search = query.toString();
    return this.request<Page<RepositoryTagView>>(
      `/objects/${refPath(repository)}/tags${search ? `?${search}` : ''}`,
    );
  }

  async getTimeline(
    entity: ObjectRef,
    options: {
      since?: string;
      until?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<EntityTimelineView> {
    const query = new URLSearchParams();
    if (options.since !== undefined) query.set('since', options.since);
    if (options.until !== undefined) query.set('until', options.until);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const search = query.toString();
    return this.request<EntityTimelineView>(
      `/entities/${refPath(entity)}/timeline${search ? `?${search}` : ''}`,
    );
  }

  async getPromotions(
    entity: ObjectRef,
    options: {
      states?: PromotionState[];
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<Page<PromotionView>> {
    const query = new URLSearchParams();
    if (options.states?.length) query.set('state', options.states.join(','));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const search = query.toString();
    return this.request<Page<PromotionView>>(
      `/entities/${refPath(entity)}/promotions${search ? `?${search}` : ''}`,
    );
  }

  async decidePromotion(
    id: string,
    decision: PromotionDecision,
  ): Promise<PromotionView | PromotionPin> {
    const { action, ...body } = decision;
    return this.request(`/promotions/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async previewPromotion(id: string): Promise<PromotionPreview> {
    return this.request<PromotionPreview>(
      `/promotions/${encodeURIComponent(id)}/preview`,
      { method: 'POST' },
    );
  }

  async pin(pin: {
    targetId: string;
    subject: string;
    version: PromotionVersion;
    reason: string;
    expiresAt?: string;
  }): Promise<PromotionPin> {
    return this.request<PromotionPin>('/pins', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(pin),
    });
  }

  async unpin(targetId: string, subject: string): Promise<void> {
    const query = new URLSearchParams({ targetId, subject });
    await this.request(`/pins?${query}`, { method: 'DELETE' });
  }

  async getFleet(filter: FleetFilter = {}): Promise<FleetView> {
    const query = new URLSearchParams();
    for (const key of ['owner', 'kind', 'state'] as const) {
      if (filter[key]) query.set(key, filter[key]!);
    }
    const search = query.toString();
    return this.request<FleetView>(`/fleet${search ? `?${search}` : ''}`);
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl(
      IMAGE_AUTOMATION_PLUGIN_ID,
    );
    const response = await this.fetchApi.fetch(`${baseUrl}${path}`, init);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    // DELETE /pins answers 204 without a body.
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

function refPath(ref: ObjectRef): string {
  return [ref.kind, ref.namespace, ref.name].map(encodeURIComponent).join('/');
}
