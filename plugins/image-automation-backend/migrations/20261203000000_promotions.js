// @ts-check

/**
 * Promotions: moving one version of an image (or of a provider's inputs) onto one target, behind
 * gates; the votes cast on them; and the pins that hold a target's subject at a version.
 * Times are ISO-8601 UTC strings, like the other tables. Every change of a promotion is a
 * compare-and-set on its `revision`.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_promotions', table => {
    table.comment(
      'Promotions of a version onto a target, with their gates and history',
    );
    table.string('id', 36).primary().comment('UUID');
    table.string('entity_ref', 600).nullable().comment('Owning catalog entity');
    table
      .string('target_id', 1000)
      .notNullable()
      .comment('git:<automation id> or cluster:<ResourceSet id>@<cluster>');
    table.text('target').notNullable().comment('The target, JSON');
    table
      .string('subject', 600)
      .notNullable()
      .comment(
        'ImagePolicy/<ns>/<name> or ResourceSetInputProvider/<ns>/<name>',
      );
    table
      .text('from')
      .nullable()
      .comment('The version the target carried, JSON');
    table.text('to').notNullable().comment('The version to promote, JSON');
    table
      .string('to_digest', 512)
      .notNullable()
      .comment(
        'to.digest, or to.tag when the digest is unknown: the upstream gate looks it up',
      );
    table
      .string('state', 16)
      .notNullable()
      .comment(
        'pending | approved | rejected | applying | applied | failed | superseded',
      );
    table
      .text('gates')
      .notNullable()
      .defaultTo('[]')
      .comment('Gate results as last evaluated, JSON');
    table.string('eta', 30).nullable();
    table
      .text('history')
      .notNullable()
      .defaultTo('[]')
      .comment('Steps, oldest first, JSON');
    table
      .text('bypassed_gates')
      .nullable()
      .comment('Gates bypassed by promote-now, JSON');
    table.text('justification').nullable();
    table
      .string('commit', 255)
      .nullable()
      .comment('Git targets: the commit written');
    table
      .string('applied_revision', 255)
      .nullable()
      .comment('Cluster targets: the revision applied');
    table.text('diff').nullable();
    table.text('preview').nullable();
    table.text('error').nullable();
    table.string('created_at', 30).notNullable();
    table.string('updated_at', 30).notNullable();
    table.string('closed_at', 30).nullable();
    table
      .integer('revision')
      .notNullable()
      .comment('Optimistic-concurrency counter');
    table.index(
      ['entity_ref', 'created_at'],
      'image_automation_promotions_entity_idx',
    );
    table.index(
      ['target_id', 'subject', 'state'],
      'image_automation_promotions_target_idx',
    );
    table.index(
      ['entity_ref', 'to_digest'],
      'image_automation_promotions_upstream_idx',
    );
    // At most one open promotion per target's subject, even when two instances create at once.
    table.unique(['target_id', 'subject'], {
      indexName: 'image_automation_promotions_open_idx',
      predicate: knex.whereRaw(
        "state in ('pending', 'approved', 'applying', 'failed')",
      ),
    });
  });

  await knex.schema.createTable('image_automation_promotion_votes', table => {
    table.comment('Votes on promotions, one per actor and digest');
    table
      .string('promotion_id', 36)
      .notNullable()
      .references('id')
      .inTable('image_automation_promotions')
      .onDelete('CASCADE');
    table.string('actor', 600).notNullable().comment('User entity ref');
    table.string('decision', 16).notNullable().comment('approve | reject');
    table
      .string('digest', 512)
      .notNullable()
      .comment('The digest (or tag) the vote was cast for');
    table.string('at', 30).notNullable();
    table.text('reason').nullable();
    table.unique(['promotion_id', 'actor', 'digest'], {
      indexName: 'image_automation_promotion_votes_actor_idx',
    });
  });

  await knex.schema.createTable('image_automation_promotion_pins', table => {
    table.comment('Holds of a target’s subject at a version');
    table.string('target_id', 1000).notNullable();
    table.string('subject', 600).notNullable();
    table.text('version').notNullable().comment('The held version, JSON');
    table.text('reason').notNullable();
    table.string('by', 600).notNullable().comment('Who pinned');
    table.string('at', 30).notNullable();
    table
      .string('expires_at', 30)
      .nullable()
      .comment('The pin lifts itself then');
    table.primary(['target_id', 'subject']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_promotion_pins');
  await knex.schema.dropTable('image_automation_promotion_votes');
  await knex.schema.dropTable('image_automation_promotions');
};
