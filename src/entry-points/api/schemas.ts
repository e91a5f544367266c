import { Type, type Static } from '@sinclair/typebox';

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Amount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const IsoDateTime = Type.String({ format: 'date-time', maxLength: 40 });

/** `ticket`: required on a coupon with a waiting room (an ADMITTED ticket of the same user), ignored otherwise. */
export const IssueRequest = Type.Object(
  { userId: Id, couponId: Id, ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export type IssueRequest = Static<typeof IssueRequest>;
/** With AUTH_MODE=jwt the user is the token's: the body may leave userId out (if given, it must be the token's). */
export const IssueRequestOfTokenUser = Type.Object(
  { userId: Type.Optional(Id), couponId: Id, ticket: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export type IssueRequestOfTokenUser = Static<typeof IssueRequestOfTokenUser>;

export const CreateCouponRequest = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 255 }),
    totalQuantity: Type.Union([Type.Integer({ minimum: 1, maximum: 100_000_000 }), Type.Null()]),
    discountAmount: Amount,
    minAvailableAmount: Amount,
    dateIssueStart: IsoDateTime,
    dateIssueEnd: IsoDateTime,
    waitingRoom: Type.Optional(Type.Union([
      Type.Object({
        admissionTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
        preQueueSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
      }, { additionalProperties: false }),
      Type.Null(),
    ])),
  },
  { additionalProperties: false },
);
export type CreateCouponRequest = Static<typeof CreateCouponRequest>;

/** Any of the fields of creation, validated the same way; at least one. */
export const PatchCouponRequest = Type.Partial(CreateCouponRequest, { additionalProperties: false, minProperties: 1 });
export type PatchCouponRequest = Static<typeof PatchCouponRequest>;

/** Query values arrive as text and are parsed by the route (no coercion); a repeated one is an array, refused here. */
export const ListCouponsQuery = Type.Object(
  { limit: Type.Optional(Type.String({ maxLength: 20 })), after: Type.Optional(Type.String({ maxLength: 20 })) },
  { additionalProperties: false },
);
export type ListCouponsQuery = Static<typeof ListCouponsQuery>;

export const SuccessResponse = Type.Object({ isSuccess: Type.Boolean(), comment: Type.Null() });

export const ErrorResponse = Type.Object({ isSuccess: Type.Boolean(), code: Type.String(), comment: Type.String() });

export const CouponResponse = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  couponType: Type.String(),
  issueMode: Type.Union([Type.String(), Type.Null()]),
  totalQuantity: Type.Union([Type.Integer(), Type.Null()]),
  issuedQuantity: Type.Integer(),
  discountAmount: Type.Integer(),
  minAvailableAmount: Type.Integer(),
  dateIssueStart: Type.String(),
  dateIssueEnd: Type.String(),
  waitingRoom: Type.Union([Type.Object({ admissionTtlSeconds: Type.Integer(), preQueueSeconds: Type.Integer() }), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const IssueStatusResponse = Type.Object({
  couponId: Type.Integer(),
  userId: Type.Integer(),
  status: Type.String(),
  dateIssued: Type.String(),
  /** FAILED only: why the consumer gave the issue up (REFUSED_BY_DATABASE, MALFORMED_ENTRY, REDELIVERED_TOO_OFTEN). */
  reason: Type.Optional(Type.String()),
});

export const CouponPageResponse = Type.Object({
  items: Type.Array(CouponResponse),
  next: Type.Union([Type.String(), Type.Null()]),
});

export const JoinQueueRequest = Type.Object({ userId: Id }, { additionalProperties: false });
export type JoinQueueRequest = Static<typeof JoinQueueRequest>;
export const JoinQueueRequestOfTokenUser = Type.Object({ userId: Type.Optional(Id) }, { additionalProperties: false });
export type JoinQueueRequestOfTokenUser = Static<typeof JoinQueueRequestOfTokenUser>;

const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
export const QueueTicketResponse = Type.Object({
  ticket: Type.String(),
  position: NullableInt,
  ahead: NullableInt,
  state: Type.String(),
  admittedUntil: Type.Union([Type.String(), Type.Null()]),
  estimatedWaitSeconds: NullableInt,
  retryAfterMs: NullableInt,
});
