// @ts-check

/**
 * Pull-request mode (issue #19): the pull (merge) request that carries a Git promotion, as last
 * read from its host (number, URL, state, reviews, checks, auto-merge, merge commit), JSON.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('image_automation_promotions', table => {
    table
      .text('pull_request')
      .nullable()
      .comment(
        'Git targets in pull-request mode: the pull request carrying it, JSON',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('image_automation_promotions', table => {
    table.dropColumn('pull_request');
  });
};
