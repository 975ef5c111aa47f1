import { methodLabel, modelLabel, routeLabel, statusLabel } from './metric-labels';

describe('metric labels', () => {
  it('keeps a model only when it is an enabled rate of the call provider', () => {
    const models = new Set(['mock-model']);
    expect(modelLabel(models, 'mock-model')).toBe('mock-model');
    expect(modelLabel(models, 'random-name')).toBe('other');
    expect(modelLabel(new Set(), 'mock-model')).toBe('other');
  });

  it('bounds methods, routes and statuses', () => {
    expect(methodLabel('get')).toBe('GET');
    expect(methodLabel('PROPFIND')).toBe('other');
    expect(methodLabel('POST')).toBe('POST');
    expect(routeLabel('/admin/users/:id')).toBe('/admin/users/:id');
    expect(routeLabel(undefined)).toBe('unmatched');
    expect(routeLabel('')).toBe('unmatched');
    expect(statusLabel(404)).toBe('404');
    expect(statusLabel(404)).toBe('404'); // the text made once, then reused
    expect(statusLabel(200.5)).toBe('other');
    expect(statusLabel(0)).toBe('other');
    expect(statusLabel(1000)).toBe('other');
  });
});
