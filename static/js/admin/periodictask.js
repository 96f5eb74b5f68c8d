// django-celery-beat's periodic task form: shows a crontab's reading beside its help text
// (its template had this inline; templates/admin/djcelery/change_periodictask_form.html).
(function ($) {
  var readableCrontabs = JSON.parse($("#readable-crontabs").text());
  var help = $(".field-crontab .help");
  var originalHelp = help.html();

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var reading = readableCrontabs[$("#id_crontab").val()];
    help.html(originalHelp).append("<br>", document.createTextNode("Translation: " + reading));
  });
})(django.jQuery);
