// Which SAP entity each canonical event becomes, by default (../shared/notes/erp-apis.md): a production
// confirmation is a ProdnOrdConf2 of API_PROD_ORDER_CONFIRMATION_2_SRV; material movements are material documents
// of API_MATERIAL_DOCUMENT_SRV (GoodsMovementCode 03 goods issue with movement type 261 to the order or 551 scrap,
// 02 goods receipt from the order with 101). Every document carries our reference "PS <event id>" in a text field,
// so that an unknown outcome can be looked up before anything is sent again. Reversals have routes of their own
// (`<type>.reversal`). A route in the config replaces any of
// these fields (plant, storage location, movement types, the whole body).
import type { SapRoute } from './config.ts';

const REFERENCE = 'PS {{id}}'; // 25 characters: fits ConfirmationText (40) and MaterialDocumentHeaderText (25)

function materialDocument(code: string, item: Record<string, unknown>): SapRoute {
  return {
    service: 'API_MATERIAL_DOCUMENT_SRV',
    entitySet: 'A_MaterialDocumentHeader',
    body: {
      GoodsMovementCode: code,
      PostingDate: '{{occurredAt | sapDate}}',
      DocumentDate: '{{occurredAt | sapDate}}',
      MaterialDocumentHeaderText: REFERENCE,
      to_MaterialDocumentItem: [
        { Plant: '{{plant}}', Material: '{{payload.material}}', StorageLocation: '{{payload.storageLocation}}', Batch: '{{payload.batch}}', QuantityInEntryUnit: '{{payload.quantity | string}}', EntryUnit: '{{payload.unit}}', ...item },
      ],
    },
    reference: { field: 'MaterialDocumentHeaderText', value: REFERENCE },
    receipt: ['MaterialDocument', 'MaterialDocumentYear'],
  };
}

export const defaultRoutes: Record<string, SapRoute> = {
  'production.confirmation': {
    service: 'API_PROD_ORDER_CONFIRMATION_2_SRV',
    entitySet: 'ProdnOrdConf2',
    body: {
      OrderID: '{{payload.order}}',
      OrderOperation: '{{payload.operation}}',
      Plant: '{{plant}}',
      ConfirmationYieldQuantity: '{{payload.yield | string}}',
      ConfirmationScrapQuantity: '{{payload.scrap | string}}',
      ConfirmationUnit: '{{payload.unit}}',
      FinalConfirmationType: '{{payload.final | flag}}',
      PostingDate: '{{occurredAt | sapDate}}',
      ConfirmationText: REFERENCE,
    },
    reference: { field: 'ConfirmationText', value: REFERENCE },
    receipt: ['ConfirmationGroup', 'ConfirmationCount'],
  },
  'material.consumption': materialDocument('03', { GoodsMovementType: '261', ManufacturingOrder: '{{payload.order}}' }),
  'goods.receipt': materialDocument('02', { GoodsMovementType: '101', GoodsMovementRefDocType: 'F', ManufacturingOrder: '{{payload.order}}' }),
  scrap: materialDocument('03', { GoodsMovementType: '551', ManufacturingOrder: '{{payload.order}}', GoodsMovementReasonCode: '{{payload.reasonCode}}' }),
  // Reversals (payload.reversal: true) post the reversal movement types: 262 takes back 261, 102 takes back 101,
  // 552 takes back 551.
  'material.consumption.reversal': materialDocument('03', { GoodsMovementType: '262', ManufacturingOrder: '{{payload.order}}' }),
  'goods.receipt.reversal': materialDocument('02', { GoodsMovementType: '102', GoodsMovementRefDocType: 'F', ManufacturingOrder: '{{payload.order}}' }),
  'scrap.reversal': materialDocument('03', { GoodsMovementType: '552', ManufacturingOrder: '{{payload.order}}', GoodsMovementReasonCode: '{{payload.reasonCode}}' }),
};

/** The route name of an event: its type, with ".reversal" for a movement that takes an earlier one back. */
export function routeName(type: string, scope: { payload?: { reversal?: unknown } }): string {
  return scope.payload?.reversal === true ? `${type}.reversal` : type;
}

/** The route of an event type: the default with the config's fields over it; undefined when there is neither. */
export function routeOf(type: string, configured: Partial<SapRoute> | undefined): SapRoute | undefined {
  const base = defaultRoutes[type];
  if (!base && !configured) return undefined;
  const r = { ...base, ...configured } as Partial<SapRoute>;
  return r.service && r.entitySet && r.body && r.reference && r.receipt ? (r as SapRoute) : undefined;
}
